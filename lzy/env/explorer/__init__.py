"""Explorers: find which distributions and local modules an operation's code needs."""
