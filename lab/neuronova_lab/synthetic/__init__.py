"""pure: synthetic brain MR phantoms and their DICOM rendering (deterministic from a seed)."""
