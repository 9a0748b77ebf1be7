"""Workflows: the scope in which op calls run through a runtime.

Which workflow an op call belongs to (:func:`workflow_of_call`):

* the workflow in the call's context (:mod:`contextvars`): the thread of the ``with`` block,
  asyncio tasks made inside it, :func:`asyncio.to_thread`, and anything run through
  :meth:`contextvars.Context.run` of a context copied inside it;
* else, while exactly one workflow runs in the process, a thread started after it began (a
  :class:`~concurrent.futures.ThreadPoolExecutor`'s workers, a :class:`threading.Thread`)
  belongs to it;
* else, while any workflow runs, the call is refused with
  :class:`~lzy.exceptions.WorkflowContextError`: lzy cannot tell which one it belongs to
  (a thread that predates the workflow, several workflows, a task made outside the block);
* else, in a child process that :mod:`multiprocessing` started (spawn, forkserver) while a
  workflow ran in its parent, the call is refused too: a workflow does not reach another
  process. The parent's workflows are told to such children by :data:`WORKFLOW_PROCESS_VARIABLE`;
* when no workflow runs, the op is a plain call of its function.

A forked child holds a copy of its parent's workflows and context, and runs its calls as the
parent would (through its own runtime).
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import sys
import threading
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from lzy.env._base import expect_instance, expect_name
from lzy.env.environment import EffectiveEnv, Env, Level
from lzy.env.owner import EnvOwner
from lzy.exceptions import ConfigurationError, WorkflowContextError
from lzy.runtime.base import OpCall, importing_callers_main

if TYPE_CHECKING:
    from lzy.core.lzy import Lzy
    from lzy.core.op import Op

__all__ = ["WORKFLOW_PROCESS_VARIABLE", "Workflow", "current_workflow", "workflow_of_call"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")
_CURRENT: contextvars.ContextVar[Workflow | None] = contextvars.ContextVar("lzy_workflow", default=None)

#: The environment variable set, while any workflow runs, to the id of the process that runs
#: it: a child process :mod:`multiprocessing` starts inherits it, and refuses op calls.
WORKFLOW_PROCESS_VARIABLE: Final = "LZY_WORKFLOW_PROCESS"


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _Run:
    """A workflow's ``with`` block while it runs."""

    #: The thread that entered the block.
    thread: threading.Thread
    #: The threads that were alive when it began: a thread among them was not started inside.
    before: weakref.WeakSet[threading.Thread]


_RUNNING: dict[Workflow, _Run] = {}
_RUNNING_LOCK = threading.Lock()


def current_workflow() -> Workflow | None:
    """The workflow whose ``with`` block the current context is in, or ``None``."""
    return _CURRENT.get()


def workflow_of_call() -> Workflow | None:
    """The workflow an op called here runs in; ``None`` when no workflow runs (a plain call).

    Raises :class:`~lzy.exceptions.WorkflowContextError` when workflows run but none can be
    told to be this call's (the rules are in this module's docstring).
    """
    found = _CURRENT.get()
    if found is not None:
        return found
    with _RUNNING_LOCK:
        running = list(_RUNNING.items())
    if not running:
        _refuse_in_a_child_process()
        return None
    thread = threading.current_thread()
    names = ", ".join(repr(workflow.name) for workflow, _ in running)
    carry = (
        "carry the workflow's context to it: submit through"
        " executor.submit(contextvars.copy_context().run, op, *args), use asyncio.to_thread, or"
        " start the thread or executor inside the with block; call op.function(...) for a plain"
        " call outside the workflow"
    )
    if len(running) > 1:
        msg = (
            f"an op was called in thread {thread.name!r} whose context is in no workflow, while"
            f" workflows {names} run: lzy cannot tell which one it belongs to; {carry}"
        )
        raise WorkflowContextError(msg)
    workflow, run = running[0]
    if thread not in run.before:
        return workflow
    where = (
        "the workflow's own thread, outside its with block (an asyncio task made before the block?)"
        if thread is run.thread
        else f"thread {thread.name!r}, which was started before the workflow began"
    )
    msg = f"an op was called in {where}, while workflow {names} runs: lzy cannot tell it is the op's; {carry}"
    raise WorkflowContextError(msg)


def _refuse_in_a_child_process() -> None:
    """Refuse an op call in a child process :mod:`multiprocessing` started while a workflow ran
    in its parent (a spawned or forkserver child holds none of the parent's workflows)."""
    parent = os.environ.get(WORKFLOW_PROCESS_VARIABLE)
    if not parent or parent == str(os.getpid()):
        return
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None or multiprocessing.parent_process() is None:
        return  # not a multiprocessing child: a process of its own, started by a runtime or a user
    msg = (
        f"an op was called in child process {os.getpid()}, which multiprocessing started while a"
        f" workflow ran in process {parent}: a workflow does not reach another process, and lzy"
        " will not run the call as a plain one; call the op in the workflow's process (a thread"
        " pool started inside the with block runs it there), or call op.function(...) for a plain"
        " call"
    )
    raise WorkflowContextError(msg)


class Workflow(EnvOwner):
    """A named scope: ops called inside ``with workflow:`` run through the runtime.

    Made by :meth:`Lzy.workflow <lzy.core.lzy.Lzy.workflow>`. Its :attr:`env` may be assigned
    at any time before an op call: environments are resolved lazily, at each call.
    """

    def __init__(self, lzy: Lzy, name: str, *, env: Env | None = None) -> None:
        expect_name("Workflow", "name", name)
        self._lzy = lzy
        self._name = name
        self.env = env if env is not None else Env()
        self._token: contextvars.Token[Workflow | None] | None = None

    @property
    def env(self) -> Env:
        """The environment set on this workflow; assignable (``wf.env = env``)."""
        return self._env

    @env.setter
    def env(self, value: Env) -> None:
        expect_instance("Workflow.env", value, Env, "an Env")
        self._env = value

    @property
    def name(self) -> str:
        """The workflow's name."""
        return self._name

    @property
    def lzy(self) -> Lzy:
        """The :class:`~lzy.core.lzy.Lzy` that made this workflow (its env and runtime apply)."""
        return self._lzy

    def _with_env(self, env: Env) -> Self:
        if self._token is not None:
            msg = f"workflow {self._name!r} is running; change its env with wf.env = ..., not with_*()"
            raise ConfigurationError(msg)
        return type(self)(self._lzy, self._name, env=env)

    def effective_env(self, op: Op[Any, Any]) -> EffectiveEnv:
        """The env ``op`` runs with in this workflow: the command line over op over workflow over
        Lzy over defaults."""
        layers = {
            Level.LZY: self._lzy.env,
            Level.WORKFLOW: self._env,
            Level.OP: op.env,
            Level.CLI: self._lzy.cli.env_for(op=op.name, workflow=self._name),
        }
        return EffectiveEnv.from_layers(layers, function=op.function)

    def call(self, op: Op[Any, _R], args: tuple[object, ...], kwargs: Mapping[str, object]) -> _R:
        """Resolve ``op``'s env now and run it through the runtime."""
        resolved = self.effective_env(op).resolve()
        call = OpCall(name=op.name, function=op.function, args=args, kwargs=kwargs, env=resolved)
        return self._lzy.runtime.run(call)

    def __enter__(self) -> Self:
        if self._token is not None:
            run = _RUNNING.get(self)
            where = f" in thread {run.thread.name!r}" if run is not None else ""
            msg = (
                f"workflow {self._name!r} is already running{where}; a workflow object runs one with"
                f" block at a time: for workflows in several threads, make one in each with"
                f" lzy.workflow({self._name!r})"
            )
            raise ConfigurationError(msg)
        running = _CURRENT.get()
        if running is not None:
            msg = f"workflow {self._name!r} cannot start inside workflow {running.name!r}"
            raise ConfigurationError(msg)
        main = importing_callers_main()
        if main is not None:
            msg = (
                f"workflow {self._name!r} cannot start while an op's process imports {main} to find"
                " the op it runs: the top level of the program runs again there. Put the code that"
                ' runs workflows under `if __name__ == "__main__":`'
            )
            raise WorkflowContextError(msg)
        self._token = _CURRENT.set(self)
        run = _Run(thread=threading.current_thread(), before=weakref.WeakSet(threading.enumerate()))
        with _RUNNING_LOCK:
            _RUNNING[self] = run
            os.environ[WORKFLOW_PROCESS_VARIABLE] = str(os.getpid())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is None:
            return
        run = _RUNNING.get(self)
        try:
            if _CURRENT.get() is not self:
                raise ValueError  # refused as a reset in another context is
            _CURRENT.reset(self._token)
        except ValueError:
            # Another thread, task or context than the one that entered: the workflow goes on
            # running where it was entered, and its calls there still get its env.
            entered = f"thread {run.thread.name!r}" if run is not None else "another thread"
            msg = (
                f"workflow {self._name!r} was entered in {entered} and cannot end in thread"
                f" {threading.current_thread().name!r} or another context (asyncio task,"
                " contextvars.Context.run): a with block begins and ends in one; it is still running"
            )
            raise WorkflowContextError(msg) from None
        self._token = None
        with _RUNNING_LOCK:
            _RUNNING.pop(self, None)
            if not _RUNNING and os.environ.get(WORKFLOW_PROCESS_VARIABLE) == str(os.getpid()):
                del os.environ[WORKFLOW_PROCESS_VARIABLE]

    def __repr__(self) -> str:
        return f"<workflow {self._name!r} env={self._env!r}>"
