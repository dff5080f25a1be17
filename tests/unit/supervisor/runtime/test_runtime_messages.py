"""The inbox: events are bounded (a flood is dropped and answered by a re-read), decisions'
inputs never are."""

from __future__ import annotations

from pathlib import Path

from runtime_support import DEPENDENTS, World, build_harness

from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.messages import (
    EventArrived,
    Inbox,
    InboxOverflowed,
    JobFinished,
    StreamConnected,
)


def _event_flood(world: World, count: int) -> list[EventArrived]:
    return [world.event("health_status: healthy", "sonarr") for _ in range(count)]


def test_past_the_limit_events_are_dropped_and_one_overflow_stands_for_them(
    tmp_path: Path,
) -> None:
    world = build_harness(tmp_path, FakeClock()).world
    inbox = Inbox(event_limit=3)
    for message in _event_flood(world, 10):
        inbox.put(message)
    inbox.put(JobFinished("backup"))  # a decision's input: kept, whatever the flood
    taken = inbox.drain()
    assert len(taken) == 5
    assert taken[3] == InboxOverflowed(7)
    assert taken[4] == JobFinished("backup")


def test_after_the_overflow_is_taken_events_queue_again(tmp_path: Path) -> None:
    world = build_harness(tmp_path, FakeClock()).world
    inbox = Inbox(event_limit=1)
    for message in _event_flood(world, 3):
        inbox.put(message)
    assert len(inbox.drain()) == 2
    for message in _event_flood(world, 1):
        inbox.put(message)
    assert [type(message).__name__ for message in inbox.drain()] == ["EventArrived"]


def test_a_gluetun_restart_lost_in_a_flood_is_healed_by_the_re_read(tmp_path: Path) -> None:
    harness = build_harness(tmp_path, FakeClock())
    harness.feed(StreamConnected(0))
    for message in _event_flood(harness.world, Inbox.EVENT_LIMIT):
        harness.inbox.put(message)
    harness.world.restart_gluetun(healthy=True)
    harness.inbox.put(harness.world.event("start", "gluetun"))  # dropped: past the limit
    rereads = harness.daemon.engine_rereads
    harness.daemon.process_waiting()
    assert harness.daemon.engine_rereads == rereads + 1  # the overflow's re-read found it
    assert harness.recreator.calls == [DEPENDENTS]
