"""Wiring: authorised DICOMweb / WADO-URI (X-Accel-Redirect) and upload to Orthanc."""
