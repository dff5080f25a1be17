"""The event stream thread's contract, run inline with a scripted source: connect, forward
parsed container events, report a drop, back off, reconnect; stop ends it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.runtime.event_stream import EventStream
from mediastack.supervisor.runtime.messages import (
    EventArrived,
    Inbox,
    Message,
    StreamConnected,
    StreamLost,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
TINY = Backoff(timedelta(milliseconds=1), timedelta(milliseconds=4), max_attempts=1)


class ScriptedSubscription:
    def __init__(self, events: list[Any], error: Exception | None = None) -> None:
        self._events = events
        self._error = error
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        yield from self._events
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.closed = True


class ScriptedSource:
    """Answers each open with the next scripted item: an exception or a subscription; when
    the script is done, stops the stream."""

    def __init__(self, script: list[Exception | ScriptedSubscription]) -> None:
        self.script = script
        self.stream: EventStream | None = None
        self.opened = 0

    def open(self) -> ScriptedSubscription:
        self.opened += 1
        if not self.script:
            assert self.stream is not None
            threading.Thread(target=self.stream.stop).start()
            return ScriptedSubscription([])
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def messages(inbox: Inbox) -> list[Message]:
    return list(inbox.drain())


def run_inline(script: list[Exception | ScriptedSubscription]) -> tuple[list[Message], int]:
    inbox = Inbox()
    source = ScriptedSource(script)
    stream = EventStream(source, inbox, TINY)
    source.stream = stream
    stream.run()
    return messages(inbox), source.opened


def test_events_are_forwarded_parsed_and_a_drop_is_followed_by_a_reconnect() -> None:
    start = json.loads((FIXTURES / "event-start.json").read_text())
    not_a_container = {"Type": "network", "Action": "connect"}
    first = ScriptedSubscription([start, not_a_container])
    received, opened = run_inline([ConnectionError("refused"), first])
    kinds = [type(message) for message in received]
    assert kinds[:4] == [StreamLost, StreamConnected, EventArrived, StreamLost]
    assert isinstance(received[0], StreamLost)
    assert "refused" in received[0].reason
    assert isinstance(received[1], StreamConnected)
    assert received[1].failures == 1
    assert isinstance(received[2], EventArrived)
    assert received[2].event.action == "start"
    assert isinstance(received[3], StreamLost)
    assert received[3].reason == "the engine closed the event stream"
    assert first.closed
    assert opened >= 3


def test_a_stream_that_breaks_says_why_and_backs_off_more_each_time() -> None:
    broken = ScriptedSubscription([], error=OSError("connection reset"))
    received, _ = run_inline([broken, ConnectionError("refused"), ConnectionError("refused")])
    lost = [message for message in received if isinstance(message, StreamLost)]
    assert "connection reset" in lost[0].reason
    delays = [message.retry_in for message in lost[:3]]
    assert delays == sorted(delays)
    assert delays[0] < delays[-1]
