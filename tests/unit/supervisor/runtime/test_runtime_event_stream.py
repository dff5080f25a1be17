"""The event stream thread's contract, run inline with a scripted source: connect, forward
parsed container events, report a drop, back off, reconnect; stop ends it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
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


class FakeMonotonic:
    """The stream's clock: moved only by ``Idle`` items in a scripted stream."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Idle:
    """In a scripted stream: nothing comes for ``seconds``."""

    seconds: float


class ScriptedSubscription:
    def __init__(
        self,
        events: list[Any],
        error: Exception | None = None,
        engine_time_nano: int | None = None,
    ) -> None:
        self._events = events
        self._error = error
        self.engine_time_nano = engine_time_nano
        self.clock: FakeMonotonic | None = None
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        for item in self._events:
            if isinstance(item, Idle):
                assert self.clock is not None
                self.clock.now += item.seconds
            else:
                yield item
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.closed = True


class ScriptedSource:
    """Answers each open with the next scripted item: an exception or a subscription; when
    the script is done, stops the stream. Records the ``since`` of every open."""

    def __init__(self, script: list[Exception | ScriptedSubscription]) -> None:
        self.script = script
        self.stream: EventStream | None = None
        self.clock = FakeMonotonic()
        self.since: list[str | None] = []

    @property
    def opened(self) -> int:
        return len(self.since)

    def open(self, since: str | None = None) -> ScriptedSubscription:
        self.since.append(since)
        if not self.script:
            assert self.stream is not None
            threading.Thread(target=self.stream.stop).start()
            return ScriptedSubscription([])
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        item.clock = self.clock
        return item


def messages(inbox: Inbox) -> list[Message]:
    return list(inbox.drain())


def run_stream(
    script: list[Exception | ScriptedSubscription],
) -> tuple[list[Message], ScriptedSource, EventStream]:
    inbox = Inbox()
    source = ScriptedSource(script)
    stream = EventStream(source, inbox, TINY, monotonic=source.clock)
    source.stream = stream
    stream.run()
    return messages(inbox), source, stream


def run_inline(script: list[Exception | ScriptedSubscription]) -> tuple[list[Message], int]:
    received, source, _ = run_stream(script)
    return received, source.opened


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


# -- resuming after an idle cut ------------------------------------------------------------------

START = json.loads((FIXTURES / "event-start.json").read_text())
DIE = {**json.loads((FIXTURES / "event-die.json").read_text()), "timeNano": START["timeNano"] + 5}
START_SINCE = "1795731860.377199729"  # START's timeNano, as /events takes it
IDLE_CUT = OSError("peer closed connection without sending complete message body")
"""What the socket client raises when a proxy cuts a chunked stream (no last chunk)."""


def connected(received: list[Message]) -> list[StreamConnected]:
    return [message for message in received if isinstance(message, StreamConnected)]


def actions(received: list[Message]) -> list[str]:
    return [m.event.action for m in received if isinstance(m, EventArrived)]


def test_an_idle_cut_is_resumed_from_the_last_event_without_a_reread() -> None:
    first = ScriptedSubscription([START, Idle(600)], error=IDLE_CUT)  # HAProxy's 10 min
    replayed = ScriptedSubscription([START, DIE])  # since is inclusive: START comes again
    received, source, stream = run_stream([first, replayed])
    assert source.since[:2] == [None, START_SINCE]
    assert [type(m) for m in received[:4]] == [
        StreamConnected,
        EventArrived,
        StreamConnected,
        EventArrived,
    ]  # no StreamLost: the loop stays connected
    assert [(c.resumed, c.connects) for c in connected(received)[:2]] == [(False, 1), (True, 2)]
    assert actions(received) == ["start", "die"]  # the replayed start is not forwarded twice
    assert (stream.counts.connects, stream.counts.resumed) >= (2, 1)


def test_a_clean_end_after_a_long_silence_is_an_idle_cut_too() -> None:
    first = ScriptedSubscription([START, Idle(240)])  # nginx's proxy_read_timeout, closed
    received, source, _ = run_stream([first, ScriptedSubscription([])])
    assert source.since[1] == START_SINCE
    assert connected(received)[1].resumed


def test_with_no_event_yet_the_stream_resumes_from_the_engines_clock_at_its_opening() -> None:
    opened_at = 1_796_188_243_000_000_000  # the events answer's Date, to the second
    first = ScriptedSubscription([Idle(600)], error=IDLE_CUT, engine_time_nano=opened_at)
    _, source, _ = run_stream([first, ScriptedSubscription([])])
    assert source.since[1] == "1796188243.000000000"


def test_with_no_known_position_the_reconnect_rereads() -> None:
    first = ScriptedSubscription([Idle(600)], error=IDLE_CUT)  # no Date, no event
    received, source, _ = run_stream([first, ScriptedSubscription([])])
    assert source.since[1] is None
    assert any(isinstance(message, StreamLost) for message in received)
    assert not connected(received)[1].resumed


def test_a_stream_cut_soon_after_an_event_is_not_an_idle_cut() -> None:
    """An engine that stops sends its containers' ``die`` and then ends the stream: what
    follows is unknown, so the next connect re-reads in full."""
    first = ScriptedSubscription([Idle(600), START, Idle(5)], error=IDLE_CUT)
    received, source, _ = run_stream([first, ScriptedSubscription([])])
    assert source.since[1] is None
    lost = [message for message in received if isinstance(message, StreamLost)]
    assert lost and "peer closed" in lost[0].reason
    assert not connected(received)[1].resumed


def test_a_stream_that_ends_soon_after_opening_is_not_an_idle_cut() -> None:
    first = ScriptedSubscription([START, Idle(10)], error=IDLE_CUT)
    _, source, _ = run_stream([first])
    assert source.since[1] is None


def test_a_failed_resume_makes_the_next_connect_a_full_one() -> None:
    first = ScriptedSubscription([START, Idle(600)], error=IDLE_CUT)
    refused = ConnectionError("502 Bad Gateway: the engine is restarting")
    received, source, stream = run_stream([first, refused, ScriptedSubscription([])])
    assert source.since[:3] == [None, START_SINCE, None]
    assert [c.resumed for c in connected(received)[:2]] == [False, False]
    assert stream.counts.resumed == 0 and stream.counts.failed >= 1
