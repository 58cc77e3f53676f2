"""Pure: the NeuroNova Orthanc plugin package; only ``entry.py`` imports ``orthanc``."""

__version__ = "0.1.0"
