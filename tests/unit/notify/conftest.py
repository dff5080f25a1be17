"""Fixtures of the notification tests: a local ntfy receiver and injected time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_support import FakeTime

from support.ntfy_receiver import NtfyReceiver


@pytest.fixture
def fake_time() -> Iterator[FakeTime]:
    """Injected time for a queue; released at the end so no worker stays blocked."""
    time = FakeTime()
    yield time
    time.release()


@pytest.fixture
def receiver() -> Iterator[NtfyReceiver]:
    """A started ntfy receiver on 127.0.0.1; stopped afterwards."""
    with NtfyReceiver() as started:
        yield started
