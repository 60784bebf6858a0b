"""The per-video pipeline every stage that turns videos into results one at a time runs on.

Extraction, IDT trajectories and Fisher encoding, and scrape's cache all do the same thing: a pure
function of one video, run over thousands of them in worker processes, with one process writing
the results *in input order* (so that `--workers N` makes the very store `--workers 1` makes, and
a rerun after a kill finds exactly a prefix done). `in_order` is that loop; what "done" means (the
ids already in a store, files already in a work folder) is the caller's, as is sharding
(`extract.shards`).

Workers are spawned, never forked: the parent holds open HDF5 files and may have imported torch,
neither of which survives a fork. They end when the parent dies, even by `kill -9`, so a killed run
leaves no orphans decoding into the void.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import TypeVar

R = TypeVar("R")


def die_with_parent(parent: int) -> None:
    """Worker initialiser: one OpenCV thread per worker (one video per core), and exit when `parent` dies.

    Linux delivers SIGKILL at once through PR_SET_PDEATHSIG, which covers `kill -9` of the parent
    (it runs no clean-up); a watchdog thread covers other systems and the window before the call.
    """
    import ctypes
    import signal
    import threading

    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # a stage that needs no OpenCV
        pass
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def in_order(task: Callable[..., R], jobs: Iterable[tuple], workers: int) -> Iterator[tuple[tuple, R]]:
    """`(args, task(*args))` for every job, in job order, with at most `2 * workers` jobs in flight.

    `task` must be a module-level function (it is pickled to the workers) that turns its own
    failures into a value: an exception escaping it ends the whole run, as it would in one process.
    With `workers <= 1` everything runs here, with no pool to start.

    Closing the generator early (an error or Ctrl-C in the consumer) cancels the jobs not started
    and waits for the running ones, so no worker outlives the loop.
    """
    if workers <= 1:
        for args in jobs:
            yield args, task(*args)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        queue = iter(jobs)
        window = deque((args, pool.submit(task, *args)) for args in islice(queue, 2 * workers))
        while window:
            args, future = window.popleft()
            result = future.result()
            for following in islice(queue, 1):
                window.append((following, pool.submit(task, *following)))
            yield args, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
