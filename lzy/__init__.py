"""lzy: run Python operations where and how you describe them.

Users import from :mod:`lzy.api.v1`; everything else is implementation.
"""

__all__ = ["__version__"]

#: The version of the installed ``lzy`` distribution.
__version__ = "0.1.0"
