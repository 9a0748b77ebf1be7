"""Operations: functions whose calls inside a workflow run through a runtime."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from types import CodeType
from typing import Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload

from lzy.core._fixed import FixedEnv
from lzy.env._base import OpTarget, describe
from lzy.env.environment import EffectiveEnv, Env, Level
from lzy.env.owner import EnvOwner
from lzy.exceptions import FieldTypeError, NotAnOpError

__all__ = ["Op", "OpBuilder", "op"]


def __dir__() -> list[str]:
    return __all__


_P = ParamSpec("_P")
_Q = ParamSpec("_Q")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)
_S = TypeVar("_S")


class _Function(Protocol[_P, _R_co]):
    """What ``op()`` decorates, for checkers: a function (a ``def``, a ``lambda``, a method).

    Asking for the code object is what tells a function from an :class:`Op`, which is callable
    too, and from the other callables the run time refuses (a :func:`functools.partial`, an
    object with a ``__call__`` method): those are errors in mypy and pyright, as at run time.
    """

    @property
    def __code__(self) -> CodeType: ...

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...


def _check_env(owner: str, env: object) -> Env:
    if env is None:
        return Env()
    if not isinstance(env, Env):
        msg = f"{owner}: env must be an Env, got {describe(env)}"
        raise FieldTypeError(msg)
    return env


def _check_description(description: object) -> str | None:
    if description is not None and not isinstance(description, str):
        msg = f"op: description must be a str or None, got {describe(description)}"
        raise FieldTypeError(msg)
    return description


def _has_code_or_is_builtin(function: object) -> bool:
    return isinstance(function, types.BuiltinFunctionType) or hasattr(function, "__code__")


def _check_function(function: object) -> None:
    """Refuse what cannot be an op, saying what to write instead.

    An op's function is a ``def``, a ``lambda``, a method or a built-in function: what has code
    lzy can read (the explorer follows the names it uses) or needs none. A class, a
    :func:`functools.partial` or an object with a ``__call__`` method hides the code that runs.
    """
    if isinstance(function, Op | OpBuilder):
        msg = f"op got {function!r}, which is an op already; apply @op once"
        raise NotAnOpError(msg)
    if isinstance(function, classmethod | staticmethod):
        kind = "classmethod" if isinstance(function, classmethod) else "staticmethod"
        msg = f"op got a {kind} object; put @op under @{kind}, directly above the def"
        raise NotAnOpError(msg)
    if not callable(function):
        msg = f"op decorates a function, got {describe(function)}"
        raise NotAnOpError(msg)
    if isinstance(function, type):
        msg = (
            f"op decorates a function, got the class {function.__qualname__}; decorate a def that"
            " makes or uses it"
        )
        raise NotAnOpError(msg)
    if not _has_code_or_is_builtin(function):
        msg = (
            f"op decorates a function (a def, a lambda or a method), got {describe(function)};"
            " decorate a def that calls it, so that lzy sees the code that runs"
        )
        raise NotAnOpError(msg)
    import inspect  # noqa: PLC0415 - only when an op is made

    name = getattr(function, "__qualname__", describe(function))
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        msg = (
            f"op got the async function {name}: an op runs to completion in its own process and"
            " returns a value; make it a def that calls asyncio.run() on the coroutine"
        )
        raise NotAnOpError(msg)
    if inspect.isgeneratorfunction(function):
        msg = (
            f"op got the generator function {name}: a generator cannot be sent back from an op's"
            " process; return a list (or another value) instead of yielding"
        )
        raise NotAnOpError(msg)


class Op(FixedEnv, EnvOwner, OpTarget, Generic[_P, _R]):
    """A function with an environment. Inside a workflow its calls run through the runtime of
    the workflow's :class:`~lzy.core.lzy.Lzy`; when no workflow runs it is a plain call.

    A call belongs to the workflow in its context (the ``with`` block, asyncio tasks made
    inside it, :func:`asyncio.to_thread`), or to the only running workflow when made in a
    thread started inside it; where lzy cannot tell, the call is refused with
    :class:`~lzy.exceptions.WorkflowContextError`, never run as a plain call
    (see :ref:`threads`).

    An op defined in a class is a method: read from an instance (``model.fit``) it is an op
    whose calls get the instance as their first argument, with the same ``with_*`` methods."""

    #: The function's name (copied from it, like :func:`functools.wraps` does).
    __name__: str
    #: The function's qualified name.
    __qualname__: str
    #: The decorated function, for :func:`inspect.unwrap`.
    __wrapped__: Callable[_P, _R]

    def __init__(
        self,
        function: _Function[_P, _R],
        /,
        *,
        env: Env | None = None,
        description: str | None = None,
    ) -> None:
        _check_function(function)
        self._function: Callable[_P, _R] = function
        self._env = _check_env("op", env)
        doc = (
            function.__doc__.strip().splitlines()[0]
            if function.__doc__ and function.__doc__.strip()
            else None
        )
        self._description: str | None = _check_description(description) or doc
        functools.update_wrapper(self, function)

    @property
    def function(self) -> Callable[_P, _R]:
        """The decorated function."""
        return self._function

    @property
    def env(self) -> Env:
        """The environment set on this op."""
        return self._env

    @property
    def description(self) -> str | None:
        """A one-line description (by default the first line of the docstring)."""
        return self._description

    @property
    def name(self) -> str:
        """The function's qualified name."""
        return getattr(self._function, "__qualname__", repr(self._function))

    def _with_env(self, env: Env) -> Self:
        # A copy of this op (its function and description checked already, the attributes
        # functools.update_wrapper copied kept) with another env.
        clone = object.__new__(type(self))
        object.__setattr__(clone, "__dict__", {**self.__dict__, "_env": env})
        return clone

    def effective_env(self) -> EffectiveEnv:
        """The env this op runs with here: its workflow's, else its own over the defaults."""
        from lzy.core.workflow import workflow_of_call  # noqa: PLC0415 - cycle

        workflow = workflow_of_call()
        if workflow is not None:
            return workflow.effective_env(self)
        return EffectiveEnv.from_layers({Level.OP: self._env}, function=self._function)

    # No docstring, on purpose: an editor then shows the decorated function's own docstring in
    # the signature help of a call (the class docstring says what a call does).
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        from lzy.core.workflow import workflow_of_call  # noqa: PLC0415 - cycle

        workflow = workflow_of_call()
        if workflow is None:
            return self._function(*args, **kwargs)
        return workflow.call(self, args, kwargs)

    @overload
    def __get__(self, instance: None, owner: type[object] | None = None, /) -> Self: ...
    @overload
    def __get__(
        self: Op[Concatenate[_S, _Q], _R], instance: _S, owner: type[object] | None = None, /
    ) -> Op[_Q, _R]: ...
    def __get__(self, instance: object, owner: type[object] | None = None, /) -> Op[..., _R]:
        """An op defined in a class is a method: read from an instance, it is an op of the rest
        of the parameters whose calls get the instance first (as the function it wraps does)."""
        del owner
        if instance is None:
            return self
        return _BoundOp(self, instance)

    def __repr__(self) -> str:
        return f"<op {self.name} env={self._env!r}>"


class _BoundOp(Op[_Q, _R]):
    """An op read from an instance of the class that defines it: ``model.fit``.

    Calls go to the op itself with the instance first, as a bound method's do, so they run
    (and travel) exactly as ``Model.fit(model, ...)``; its ``with_*`` methods keep it bound.
    """

    def __init__(self, op: Op[..., _R], instance: object, /) -> None:
        bound = types.MethodType(op.function, instance)
        super().__init__(bound, env=op.env, description=op.description)
        self._op = op
        self._instance = instance

    def _with_env(self, env: Env) -> Self:
        return type(self)(self._op._with_env(env), self._instance)

    def __call__(self, *args: _Q.args, **kwargs: _Q.kwargs) -> _R:  # no docstring: see Op.__call__
        return self._op(self._instance, *args, **kwargs)

    def __get__(self, instance: object, owner: type[object] | None = None, /) -> Self:
        """Bound already: reading it from another object does not bind it again."""
        del instance, owner
        return self

    def __repr__(self) -> str:
        return f"<op {self.name} of {describe(self._instance)} env={self.env!r}>"


class OpBuilder(FixedEnv, EnvOwner, OpTarget):
    """What ``op(...)`` with arguments returns: an env to give the function it decorates.

    ``@op().with_python_env(...).with_environ(...)`` decorates a function with that env.
    """

    __slots__ = ("_description", "_env")

    def __init__(self, *, env: Env | None = None, description: str | None = None) -> None:
        self._env = _check_env("op", env)
        self._description = _check_description(description)

    @property
    def env(self) -> Env:
        """The environment the decorated op gets."""
        return self._env

    def _with_env(self, env: Env) -> Self:
        return type(self)(env=env, description=self._description)

    def __call__(self, function: _Function[_P, _R], /) -> Op[_P, _R]:
        """Make ``function`` an op with this env."""
        return Op(function, env=self._env, description=self._description)

    def __repr__(self) -> str:
        return f"<op builder env={self._env!r}>"


# @op(...) with arguments, then every function (an op is not one: it has no code object): last,
# so that pyright reports its error for a call that matches no overload. jedi shows each
# overload's own docstring: each repeats the implementation's lines for its parameters
# (tests/test_completion.py holds them to those lines).
@overload
def op(function: None = None, /, *, env: Env | None = None, description: str | None = None) -> OpBuilder:
    """``@op(...)`` with arguments: a builder whose ``with_*`` methods set the env, then decorate.

    :param env: The op's own environment, the ``op`` level of the merge (:doc:`/merge`); ``None`` sets no point, so each comes from the workflow, :class:`~lzy.core.lzy.Lzy` or the defaults.
    :param description: A one-line description of the op (:attr:`Op.description`); ``None`` takes the first line of the function's docstring.
    """  # noqa: E501 - one line per parameter, as editors read them


@overload
def op(
    function: _Function[_P, _R], /, *, env: Env | None = None, description: str | None = None
) -> Op[_P, _R]:
    """``@op``: make ``function`` an op.

    :param function: The function to make an op of: a ``def``, a ``lambda`` or a method (not a class, a :func:`functools.partial`, an object with a ``__call__`` method or an op). Without it, ``op(...)`` returns an :class:`OpBuilder` that decorates one.
    :param env: The op's own environment, the ``op`` level of the merge (:doc:`/merge`); ``None`` sets no point, so each comes from the workflow, :class:`~lzy.core.lzy.Lzy` or the defaults.
    :param description: A one-line description of the op (:attr:`Op.description`); ``None`` takes the first line of the function's docstring.
    """  # noqa: E501 - one line per parameter, as editors read them


def op(
    function: _Function[_P, _R] | None = None,
    /,
    *,
    env: Env | None = None,
    description: str | None = None,
) -> Op[_P, _R] | OpBuilder:
    """Make a function an op; works as ``@op`` and as ``@op(...)``.

    ``env`` sets the op's environment; the ``with_*`` methods of the result change it.

    :param function: The function to make an op of: a ``def``, a ``lambda`` or a method (not a class, a :func:`functools.partial`, an object with a ``__call__`` method or an op). Without it, ``op(...)`` returns an :class:`OpBuilder` that decorates one.
    :param env: The op's own environment, the ``op`` level of the merge (:doc:`/merge`); ``None`` sets no point, so each comes from the workflow, :class:`~lzy.core.lzy.Lzy` or the defaults.
    :param description: A one-line description of the op (:attr:`Op.description`); ``None`` takes the first line of the function's docstring.
    """  # noqa: E501 - one line per parameter, as editors read them
    if function is None:
        return OpBuilder(env=env, description=description)
    return Op(function, env=env, description=description)
