"""Ops called from threads and asyncio tasks get their workflow's env, or a clear refusal."""

from __future__ import annotations

import asyncio
import contextvars
import multiprocessing
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import EnvExplorer, Exploration, OnlyLocalPythonEnv
from lzy.core.workflow import WORKFLOW_PROCESS_VARIABLE
from lzy.exceptions import ConfigurationError, WorkflowContextError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")


class NothingExplorer(EnvExplorer):
    """Finds nothing: these tests are about which env applies, not exploration."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


@op
def mode() -> str:
    """The ``MODE`` the op runs with: the workflow sets it; a plain call sees none."""
    return os.environ.get("MODE", "plain")


def _mode_of(index: int) -> str:
    del index
    return mode()


def _lzy() -> Lzy:
    return Lzy().with_python_env(OnlyLocalPythonEnv(explorer=NothingExplorer)).with_environ(MODE="workflow")


def test_a_thread_pool_started_inside_the_workflow_gets_its_env() -> None:
    """Workers of an executor made inside ``with wf:`` run ops in the workflow."""
    with _lzy().workflow("pool"), ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_mode_of, range(3)))
    assert results == ["workflow"] * 3


def test_a_thread_started_inside_the_workflow_gets_its_env() -> None:
    """A plain :class:`threading.Thread` started inside the block too."""
    seen: list[str] = []
    with _lzy().workflow("thread"):
        thread = threading.Thread(target=lambda: seen.append(mode()))
        thread.start()
        thread.join()
    assert seen == ["workflow"]


def test_asyncio_tasks_inside_the_workflow_get_its_env() -> None:
    """Tasks made inside the block carry its context, and so does :func:`asyncio.to_thread`."""

    async def main() -> list[str]:
        in_task = asyncio.create_task(_call_in_task())
        in_thread = asyncio.to_thread(mode)
        return list(await asyncio.gather(in_task, in_thread))

    with _lzy().workflow("asyncio"):
        assert asyncio.run(main()) == ["workflow", "workflow"]


async def _call_in_task() -> str:
    return mode()


def test_a_thread_that_predates_the_workflow_is_refused_clearly() -> None:
    """A pool made before the workflow: lzy cannot tell the call is the workflow's, and says
    how to carry the context, which then works."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: None).result()  # its worker exists before the workflow
        with _lzy().workflow("late"):
            with pytest.raises(WorkflowContextError) as caught:
                pool.submit(mode).result()
            assert "started before the workflow began" in str(caught.value)
            assert "contextvars.copy_context().run" in str(caught.value)
            carried = pool.submit(contextvars.copy_context().run, mode).result()
    assert carried == "workflow"


def test_a_call_is_refused_when_two_workflows_run() -> None:
    """With two workflows running, a thread without either in its context is refused."""
    started = threading.Event()
    finish = threading.Event()

    def other() -> None:
        with _lzy().workflow("other"):
            started.set()
            finish.wait(10)

    runner = threading.Thread(target=other)
    runner.start()
    try:
        started.wait(10)
        with _lzy().workflow("mine"):
            assert mode() == "workflow"  # this thread's context says which
            outside: list[BaseException] = []
            thread = threading.Thread(target=lambda: _record(outside))
            thread.start()
            thread.join()
    finally:
        finish.set()
        runner.join()
    assert len(outside) == 1
    assert isinstance(outside[0], WorkflowContextError)
    assert "workflows" in str(outside[0])


def _record(errors: list[BaseException]) -> None:
    try:
        mode()
    except WorkflowContextError as error:
        errors.append(error)


def test_a_task_made_before_the_block_is_refused_clearly() -> None:
    """An asyncio task made outside ``with wf:`` on the workflow's thread is not silently plain."""

    async def main() -> None:
        gate = asyncio.Event()

        async def early() -> str:
            await gate.wait()
            return mode()

        task = asyncio.create_task(early())
        await asyncio.sleep(0)
        with _lzy().workflow("late-task"):
            gate.set()
            with pytest.raises(WorkflowContextError, match="outside its with block"):
                await task

    asyncio.run(main())


def test_without_a_running_workflow_an_op_is_a_plain_call_in_any_thread() -> None:
    """No workflow runs: threads and tasks call the function itself."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(mode).result() == "plain"
    assert mode() == "plain"


def _outcome() -> str:
    """What calling the op here gives: its ``MODE``, or the refusal's class name."""
    try:
        return mode()
    except WorkflowContextError as error:
        return f"{type(error).__name__}: {error}"


def test_run_in_executor_inside_the_workflow_gets_its_env() -> None:
    """The loop's default executor, first used inside the block, starts its threads there."""

    async def main() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, _outcome)

    with _lzy().workflow("executor"):
        assert asyncio.run(main()) == "workflow"


def test_run_in_executor_whose_threads_predate_the_workflow_is_refused() -> None:
    """The default executor's threads started before the block: refused, never a plain call."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _outcome)  # its thread starts before the workflow
        with _lzy().workflow("late-executor"):
            return await loop.run_in_executor(None, _outcome)

    assert asyncio.run(main()).startswith("WorkflowContextError: ")


def test_a_context_copied_before_the_workflow_does_not_carry_it() -> None:
    """``copy_context().run`` of a context copied before the block: the call is refused."""
    before = contextvars.copy_context()
    with _lzy().workflow("copied-before"):
        assert before.run(_outcome).startswith("WorkflowContextError: ")
        assert contextvars.copy_context().run(_outcome) == "workflow"


def test_workflows_in_two_threads_each_get_their_own_env() -> None:
    """Two workflows at once, one per thread: each thread's calls get its own, never the other's."""
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, list[str]] = {}

    def run(name: str) -> None:
        with _lzy().with_environ(MODE=name).workflow(name):
            barrier.wait()
            seen[name] = [mode() for _ in range(3)]
            barrier.wait()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first": ["first"] * 3, "second": ["second"] * 3}


def test_a_workflow_cannot_start_inside_another() -> None:
    """Nesting is refused when the inner block begins; the outer one goes on."""
    with _lzy().workflow("outer"):
        with pytest.raises(ConfigurationError, match="cannot start inside workflow 'outer'"):
            _lzy().workflow("inner").__enter__()
        assert mode() == "workflow"
    assert mode() == "plain"


def test_a_workflow_ended_in_another_thread_is_refused_and_goes_on() -> None:
    """``__exit__`` from a thread that did not enter it is a clear error; the workflow still
    runs in its own thread and ends there."""
    workflow = _lzy().workflow("mine")
    workflow.__enter__()
    try:
        errors: list[BaseException] = []

        def end() -> None:
            try:
                workflow.__exit__(None, None, None)
            except WorkflowContextError as error:
                errors.append(error)

        thread = threading.Thread(target=end)
        thread.start()
        thread.join()
        assert len(errors) == 1
        assert "cannot end in thread" in str(errors[0])
        assert "it is still running" in str(errors[0])
        assert mode() == "workflow"
    finally:
        workflow.__exit__(None, None, None)
    assert mode() == "plain"


def test_one_workflow_object_in_two_threads_is_refused_with_the_way_out() -> None:
    """A workflow object runs one block at a time; the error says to make one per thread."""
    workflow = _lzy().workflow("shared")
    with workflow:
        errors: list[BaseException] = []

        def enter() -> None:
            try:
                with workflow:
                    pass
            except ConfigurationError as error:
                errors.append(error)

        thread = threading.Thread(target=enter)
        thread.start()
        thread.join()
        assert mode() == "workflow"
    assert len(errors) == 1
    assert "is already running in thread" in str(errors[0])
    assert "lzy.workflow('shared')" in str(errors[0])


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_child_process_started_in_a_workflow_refuses_op_calls(method: str) -> None:
    """A spawned (or forkserver) child holds none of the parent's workflows: its op calls are
    refused, never run as plain calls; once no workflow runs, its calls are plain."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    context = multiprocessing.get_context(method)
    with _lzy().workflow("parent"), ProcessPoolExecutor(1, mp_context=context) as pool:
        inside = pool.submit(_outcome).result(timeout=120)
    assert inside.startswith("WorkflowContextError: ")
    assert "does not reach another process" in inside
    assert WORKFLOW_PROCESS_VARIABLE not in os.environ
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(_outcome).result(timeout=120) == "plain"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_runs_its_calls_in_the_workflow() -> None:
    """A child forked inside the block holds a copy of its context: its calls get the env."""
    with _lzy().workflow("forked"):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read)
            try:
                os.write(write, _outcome().encode()[:200])
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as stream:
            seen = stream.read().decode()
        os.waitpid(pid, 0)
    assert seen == "workflow"
