"""Portal unit tests run inside Django's test environment (SQLite unless told otherwise)."""

from tests.support.portal_fakes import fake_orthanc, fast_password_hashing

__all__ = ["fake_orthanc", "fast_password_hashing"]
