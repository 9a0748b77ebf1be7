"""Ops, workflows and the :class:`~lzy.core.lzy.Lzy` entry point."""
