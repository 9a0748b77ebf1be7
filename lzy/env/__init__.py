"""The environment model: four independent points of configuration and their merge.

Users import these names from :mod:`lzy.api.v1.env`; the modules below are the implementation.
"""
