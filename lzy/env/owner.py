"""The ``with_*`` methods shared by every owner of an environment (``Lzy``, workflows, ops).

Each method returns a *new* owner; the original is unchanged. Successive calls follow the merge
table (:data:`~lzy.env.environment.MERGE_RULES`): ``with_provisioning`` merges fields,
``with_python_env`` and ``with_container`` replace, ``with_environ`` merges keys.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Final, Self, TypeVar, cast

from lzy.env._base import build_part, describe, expect_instance, import_klass
from lzy.env.container.base import Container
from lzy.env.environment import Env, layer_over
from lzy.env.provisioning import Provisioning
from lzy.env.python.auto import AutoPythonEnv
from lzy.env.python.base import PythonEnv
from lzy.exceptions import ConfigurationError, FieldTypeError

__all__ = ["EnvOwner"]


def __dir__() -> list[str]:
    return __all__


_P = TypeVar("_P")


def _point(  # noqa: PLR0917 - one helper for the three with_* methods
    method: str,
    instance: object,
    klass: object,
    default: object,
    fields: Mapping[str, object],
    base: type[_P],
) -> _P:
    """The point object a ``with_*`` call describes: the instance, or ``klass(**fields)``.

    A class in the instance's place is the ``klass``: the stubs' overload that checks a class's
    keywords takes ``klass`` as positional-or-keyword (PEP 612 puts nothing keyword-only in
    front of a constructor's ``*args``), so checkers accept ``with_python_env(ManualPythonEnv,
    python_version=...)`` and so does lzy.
    """
    if isinstance(instance, type):
        if klass != default:
            given = klass.__qualname__ if isinstance(klass, type) else describe(klass)
            msg = (
                f"{method}() got the class {instance.__qualname__} first and klass={given};"
                " pass the class once, first or as klass="
            )
            raise ConfigurationError(msg)
        return _made(import_klass(instance, base, f"{method}()"), fields)
    if instance is not None:
        if not isinstance(instance, base):
            msg = f"{method}() takes a {base.__name__} instance, got {describe(instance)}"
            raise FieldTypeError(msg)
        if fields or klass != default:
            named = [*(["klass"] if klass != default else []), *fields]
            msg = (
                f"{method}() got both an instance and keywords ({', '.join(named)});"
                " pass either an instance or klass= with keywords"
            )
            raise ConfigurationError(msg)
        return instance
    return _made(import_klass(klass, base, f"{method}()"), fields)


def _made(klass: type[_P], fields: Mapping[str, object]) -> _P:
    """``klass(**fields)``, checked. lzy's own classes check each field by its value alone, and
    their instances never change: the same keywords make an equal instance, so the one made
    first serves every later call."""
    if not klass.__module__.startswith("lzy."):  # a user's class may check more than values
        return build_part(klass, fields)
    try:
        key = (klass, *[(name, type(value), value) for name, value in fields.items()])
        made = _MADE.get(key)
    except TypeError:  # a value that is not hashable (a list, a dict): made anew each time
        return build_part(klass, fields)
    if made is None:
        made = build_part(klass, fields)
        if len(_MADE) >= _MADE_MAX:
            _MADE.clear()
        _MADE[key] = made
    return cast("_P", made)


#: Instances made from keywords by :func:`_made`, by class and keywords (values with their
#: types: ``1``, ``1.0`` and ``True`` are equal keys to a dict, not equal fields).
_MADE: dict[tuple[object, ...], object] = {}
#: How many instances :data:`_MADE` keeps before it starts again.
_MADE_MAX: Final = 512


#: The default ``klass`` of :meth:`EnvOwner.with_container`, by its path (as its signature writes it).
_DEFAULT_CONTAINER: Final = "lzy.env.container.docker.DockerContainer"


class EnvOwner(abc.ABC):
    """Something that has an :class:`~lzy.env.environment.Env` and ``with_*`` methods to change it."""

    __slots__ = ()

    @property
    @abc.abstractmethod
    def env(self) -> Env:
        """The environment set at this level."""

    @abc.abstractmethod
    def _with_env(self, env: Env) -> Self:
        """A copy of this owner with ``env`` as its environment."""

    def with_provisioning(
        self,
        provisioning: Provisioning | None = None,
        /,
        klass: type[Provisioning] | str = Provisioning,
        **fields: object,
    ) -> Self:
        """A copy with provisioning fields set; they merge with those set before."""
        new = _point("with_provisioning", provisioning, klass, Provisioning, fields, Provisioning)
        return self._with_env(layer_over(self.env, "provisioning", new))

    def with_python_env(
        self,
        python_env: PythonEnv | None = None,
        /,
        klass: type[PythonEnv] | str = AutoPythonEnv,
        **fields: object,
    ) -> Self:
        """A copy with this Python env; it replaces one set before."""
        # The abstract base is only used for isinstance/issubclass checks, never instantiated.
        new = _point("with_python_env", python_env, klass, AutoPythonEnv, fields, PythonEnv)  # type: ignore[type-abstract]
        return self._with_env(layer_over(self.env, "python_env", new))

    def with_container(
        self,
        container: Container | None = None,
        /,
        klass: type[Container] | str = "lzy.env.container.docker.DockerContainer",
        **fields: object,
    ) -> Self:
        """A copy with this container; it replaces one set before.

        The default ``klass`` is :class:`~lzy.env.container.docker.DockerContainer`, by its path.
        """
        # By its path: the container module and its registry client load with the first container.
        # The abstract base is only used for isinstance/issubclass checks, never instantiated.
        new = _point("with_container", container, klass, _DEFAULT_CONTAINER, fields, Container)  # type: ignore[type-abstract]
        return self._with_env(layer_over(self.env, "container", new))

    def with_environ(self, mapping: Mapping[str, str] | None = None, /, **variables: str) -> Self:
        """A copy with these environment variables; they merge with those set before."""
        if mapping is not None:
            expect_instance("with_environ() mapping", mapping, Mapping, "a mapping of names to strings")
        merged = {**(mapping or {}), **variables}
        return self._with_env(layer_over(self.env, "environ", merged))

    def with_env(
        self,
        env: Env | None = None,
        *,
        provisioning: Provisioning | None = None,
        python_env: PythonEnv | None = None,
        container: Container | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy whose env is ``env`` (replaced whole); the keywords then act like the ``with_*`` methods."""
        if env is not None:
            expect_instance("with_env() env", env, Env, "an Env")
        base = env if env is not None else self.env
        layer = Env(
            provisioning=provisioning,
            python_env=python_env,
            container=container,
            environ=environ if environ is not None else {},
        )
        return self._with_env(layer.merged_over(base))
