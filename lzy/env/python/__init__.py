"""The Python environment point: which interpreter, packages and local modules an op needs."""
