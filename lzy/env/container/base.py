"""The abstract :class:`Container`, :class:`NoContainer` and their artifact."""

from __future__ import annotations

import abc
import dataclasses
import enum
from typing import TYPE_CHECKING, ClassVar, Final, Never, TypeVar

from lzy.env._base import EnvPart, OpTarget, decorate_op, describe, secret
from lzy.exceptions import UnsupportedContainerError

__all__ = ["CONTAINER_TYPES", "Container", "NoContainer", "PullPolicy", "ResolvedContainer"]


def __dir__() -> list[str]:
    return __all__


_O = TypeVar("_O", bound=OpTarget)

#: The container types lzy's runtimes know how to run. ``None`` (no container) is always allowed;
#: a :class:`Container` that resolves to any other type is refused when it is resolved.
CONTAINER_TYPES: Final = frozenset({"docker"})


class PullPolicy(enum.Enum):
    """When the image is pulled, with the meaning Kubernetes gives ``imagePullPolicy``."""

    #: Pull the image every time a container starts (resolving the tag anew).
    ALWAYS = "Always"
    #: Pull only when the image is not already on the machine.
    IF_NOT_PRESENT = "IfNotPresent"
    #: Never pull; the image must already be on the machine.
    NEVER = "Never"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class ResolvedContainer(EnvPart):
    """The artifact of the container point."""

    #: ``"docker"``, or ``None`` for the platform's default image.
    container_type: str | None = None
    #: The full image reference (``registry/path:tag@digest``), or ``None``.
    image: str | None = None
    #: The registry host (``docker.io``, ``ghcr.io``, ``localhost:5000``), or ``None``.
    registry: str | None = None
    #: When the image is pulled, or ``None`` without an image.
    pull_policy: PullPolicy | None = None
    #: The user name to pull with, or ``None`` for anonymous pulls.
    username: str | None = None
    #: The password or token to pull with. Never shown or serialized unless asked.
    password: str | None = secret(default=None)

    def __post_init__(self) -> None:
        kind = self.container_type
        if kind is not None and kind not in CONTAINER_TYPES:
            known = ", ".join(repr(k) for k in sorted(CONTAINER_TYPES))
            msg = (
                f"container type {describe(kind)} cannot be run: lzy's runtimes run {known}"
                " containers, or none (container_type None, as NoContainer gives)"
            )
            raise UnsupportedContainerError(msg)


class Container(EnvPart, abc.ABC):
    """The container point: where an op's process runs. Replaced whole across levels.

    Used as a decorator above ``@op`` it sets the op's container.
    """

    __slots__ = ()

    _POINT: ClassVar[str | None] = "container"

    if TYPE_CHECKING:
        # Checkers see no usable constructor: Container is abstract, so ``klass=Container`` in a
        # ``with_*`` call is an error there too (its dataclass implementations make their own).
        def __init__(self, *, abstract_class_pass_an_implementation: Never) -> None: ...

    @property
    @abc.abstractmethod
    def container_type(self) -> str | None:
        """``"docker"``, or ``None`` when the op runs in the platform's default image."""

    @abc.abstractmethod
    def resolve(self) -> ResolvedContainer:
        """The artifact: the image reference, pull policy and credentials."""

    def __call__(self, op: _O, /) -> _O:
        """Decorate an op: ``op.with_container(self)``."""
        return decorate_op(self, op, lambda o: o.with_container(self))


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class NoContainer(Container):
    """Run in the platform's default image (the local runtime: this machine, as it is)."""

    if TYPE_CHECKING:
        # mypy's dataclass plugin makes no __init__ for a dataclass without fields, which
        # would leave Container's abstract one in place.
        def __init__(self) -> None: ...

    @property
    def container_type(self) -> None:
        """Always ``None``: no container."""
        return None

    def resolve(self) -> ResolvedContainer:
        """An artifact with no container."""
        return ResolvedContainer()
