"""Runners for third-party test suites (never their code): see orthanc_tests.py and README.md."""
