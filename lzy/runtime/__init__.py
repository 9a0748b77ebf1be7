"""Runtimes: what runs an op once its environment is resolved."""
