"""lzy's public API, version 1: :class:`Lzy`, :func:`op`, workflows and :mod:`env <lzy.api.v1.env>`.

>>> from lzy.api.v1 import Lzy, op, env as lzenv
>>> @op
... def double(x: int) -> int:
...     return 2 * x
>>> with Lzy().workflow("example").with_environ(MODE="doc") as wf:
...     print(wf.name, double(21))
example 42
"""

from typing import TYPE_CHECKING

from lzy._lazy import lazy_attributes
from lzy.api.v1 import env
from lzy.core.lzy import Lzy
from lzy.core.op import Op, OpBuilder, op
from lzy.core.workflow import Workflow
from lzy.env.owner import EnvOwner
from lzy.runtime.base import OpCall, Runtime
from lzy.runtime.local import LocalRuntime

if TYPE_CHECKING:
    from lzy.runtime.isolated import IsolatedRuntime
    from lzy.runtime.ray import RayRuntime

__all__ = [
    "EnvOwner",
    "IsolatedRuntime",
    "LocalRuntime",
    "Lzy",
    "Op",
    "OpBuilder",
    "OpCall",
    "RayRuntime",
    "Runtime",
    "Workflow",
    "env",
    "op",
]


def __dir__() -> list[str]:
    return __all__


if not TYPE_CHECKING:
    # The other runtimes load their machinery (an installer, Ray's client) when first named.
    __getattr__ = lazy_attributes(
        __name__, {"IsolatedRuntime": "lzy.runtime.isolated", "RayRuntime": "lzy.runtime.ray"}
    )
