"""The worker processes that walk the folders and build an archive's pieces (``archive_pieces``).

Listing, reading, hashing, tar headers and compression of ~100,000 small files is Python work
that one interpreter runs on one core (the GIL); worker processes spread it over every core.
They are forked, not spawned: a forked worker starts in milliseconds with every module already
imported (a spawned one would import mediastack again, about a second). ``worker_pool`` forks
them at once, so a caller that opens the pool first forks them before it starts any thread (a
progress bar's) whose locks a child could inherit held, and before it opens the backups
folder's lock. Each worker ignores Ctrl-C (the caller stops the pool and cleans up), ends at
once on SIGTERM (whatever handler its parent set: the supervisor's stop reaches the whole
process group, and the parent removes what the workers left) and exits as soon as its parent
is gone, so a killed backup leaves no worker behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

MAXIMUM_WORKERS = 8  # beyond this the disk, not the CPU, sets the pace
PARENT_CHECK_SECONDS = 0.5


def worker_count() -> int:
    """Return how many worker processes a backup uses: one per usable CPU (at most
    MAXIMUM_WORKERS)."""
    return max(1, min(len(os.sched_getaffinity(0)), MAXIMUM_WORKERS))


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Fork ``workers`` processes now and yield them as a pool. On leaving, jobs not started
    are cancelled and the running ones are waited for, so none still writes in the work
    folder when it is removed."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(os.getpid).result()  # a fork pool forks every worker at its first job
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch = threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="parent-watch", daemon=True
    )
    watch.start()


def _exit_when_orphaned(parent: int) -> None:
    # A worker waits for its next job on a pipe it also holds the writing end of, so it never
    # sees its parent die: look.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)
