"""A bounded, ordered thread map: the one way the scrape stages run videos in parallel.

`ThreadPoolExecutor.map` submits every item at once, so a Ctrl-C (or an error in the writer)
would still wait for every queued video to be downloaded before the process could exit. Here at
most `2 * workers` items are in flight; leaving the loop early cancels what has not started and
waits only for the few that have.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_threads(
    fn: Callable[[Item], Result], items: Iterable[Item], workers: int, name: str = "scrape"
) -> Iterator[tuple[Item, Result]]:
    """Yield `(item, fn(item))` in input order, running `fn` in `workers` threads.

    An exception raised by `fn` is raised here, when its item's turn comes.
    """
    pending: deque[tuple[Item, Future]] = deque()
    items = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) >= 2 * workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:
                future.cancel()
