"""The public API of lzy, by version."""
