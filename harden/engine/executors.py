"""The executors harden.engine.pool runs its tasks on: a process pool, or this process alone
(one worker: no pool to start). A module of its own so that a run of a few files never imports
concurrent.futures or multiprocessing (start-up time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")
A = TypeVar("A")


def bounded(executor: Executor, function: Callable[[A], T], tasks: list[A], limit: int) -> Iterator[T]:
    """function(task) for each task, in order, with at most `limit` submitted and not yet taken."""
    pending: list[Future[T]] = []
    queue = iter(tasks)
    for task in queue:
        pending.append(executor.submit(function, task))
        if len(pending) >= limit:
            break
    while pending:
        done = pending.pop(0).result()
        following = next(queue, None)
        if following is not None:
            pending.append(executor.submit(function, following))
        yield done


class _InProcess(Executor):
    """An executor that runs each call at once, here (one worker: no pool to start)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def executor_for(workers: int) -> Executor:
    if workers == 1:
        return _InProcess()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork" if "fork" in methods else None))
