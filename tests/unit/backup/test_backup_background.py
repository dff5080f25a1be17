"""The background iterator: same items in order, errors re-raised, the thread stopped early."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing

import pytest

from mediastack.backup.background import in_background


def test_items_arrive_in_order() -> None:
    assert list(in_background(iter(range(1000)), depth=7)) == list(range(1000))


def test_an_error_of_the_producer_is_raised_in_the_consumer() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise OSError("boom")

    consumed = []
    with pytest.raises(OSError, match="boom"):
        for item in in_background(failing()):
            consumed.append(item)
    assert consumed == [1]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    before = threading.active_count()
    with pytest.raises(RuntimeError), closing(in_background(endless(), depth=3)) as items:
        for item in items:
            if item == 5:
                raise RuntimeError("consumer failed")
    assert threading.active_count() == before
    assert len(produced) < 20
