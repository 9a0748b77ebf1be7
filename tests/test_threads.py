"""Ops called from threads and asyncio tasks get their workflow's env, or a clear refusal."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import pytest

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import EnvExplorer, Exploration, OnlyLocalPythonEnv
from lzy.exceptions import WorkflowContextError

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
