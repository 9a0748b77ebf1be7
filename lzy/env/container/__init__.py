"""The container point: the image an operation runs in."""
