"""Portal integration tests: Django settings for in-process parts; the chain lives in support."""

from tests.support.portal_fakes import fake_orthanc, fast_password_hashing

__all__ = ["fake_orthanc", "fast_password_hashing"]
