"""Tests of the environment from the command line and of the ``lzy-env`` command."""
