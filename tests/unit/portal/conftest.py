"""Portal unit tests run inside Django's test environment (SQLite unless told otherwise)."""

from tests.support.portal import configure_django

configure_django()
