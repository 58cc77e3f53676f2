"""Wiring: the portal's mirror of patients, studies and AI jobs kept in step with Orthanc."""
