"""wiring: training and evaluation of the shipped synthetic-data model (needs the `train` group)."""
