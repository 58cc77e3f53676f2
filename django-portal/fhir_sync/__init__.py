"""FHIR R4 sync of patients, imaging studies and AI reports."""
