"""Test-wide configuration. Area fixtures live in each folder's conftest; shared helpers in tests/support/."""
