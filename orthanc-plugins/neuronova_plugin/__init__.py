"""Pure: the NeuroNova Orthanc plugin package; ``entry.py`` is its only Orthanc-facing file."""

__version__ = "0.1.0"
