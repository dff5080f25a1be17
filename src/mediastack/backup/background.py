"""Run an iterator in a background thread and consume it in the calling one.

The directory walk is mostly system calls (which release the GIL), the archive writer mostly
Python and compression: running them at the same time lets each use the time the other
waits. The queue is bounded, so the walk never runs far ahead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
DEPTH = 20_000  # folders: the walk may run far ahead, so databases are found early
_PUT_TIMEOUT_SECONDS = 0.1


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


@dataclass(frozen=True)
class _Item(Generic[Item]):
    value: Item


def in_background(items: Iterator[Item], depth: int = DEPTH) -> Generator[Item, None, None]:
    """Yield what ``items`` yields, computed in a daemon thread up to ``depth`` items ahead;
    re-raise its exception here. Stopping early (an exception in the consumer) stops the
    thread too."""
    channel: queue.Queue[_Item[Item] | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(items, channel, stop), name="backup-walk", daemon=True
    )
    thread.start()
    try:
        while True:
            message = channel.get()
            if isinstance(message, _End):
                if message.error is not None:
                    raise message.error
                return
            yield message.value
    finally:
        stop.set()
        thread.join()


def _produce(
    items: Iterator[Item], channel: queue.Queue[_Item[Item] | _End], stop: threading.Event
) -> None:
    try:
        for value in items:
            if not _put(channel, _Item(value), stop):
                return
    except BaseException as error:  # handed over to the consumer, raised there
        _put(channel, _End(error), stop)
        return
    _put(channel, _End(), stop)


def _put(channel: queue.Queue[_Item[Item] | _End], message: _Item[Item] | _End,
         stop: threading.Event) -> bool:
    """Put ``message`` unless the consumer stopped; return False when it did."""
    while not stop.is_set():
        try:
            channel.put(message, timeout=_PUT_TIMEOUT_SECONDS)
            return True
        except queue.Full:
            continue
    return False
