"""Where a resumed event stream continues, and what of its replay is dropped (pure)."""

from __future__ import annotations

from typing import Any

from mediastack.supervisor.runtime.event_cursor import EventCursor

T = 1_795_731_860_377_199_729


def event(action: str, nano: int, actor: str = "abc") -> dict[str, Any]:
    return {"Type": "container", "Action": action, "Actor": {"ID": actor}, "timeNano": nano}


def test_nothing_known_means_no_resume_point() -> None:
    cursor = EventCursor()
    cursor.opened(None)
    assert cursor.since() is None
    assert cursor.admit({"Type": "container", "Action": "start"})  # no timeNano: admitted


def test_the_position_is_the_newest_event_with_nanoseconds_as_events_takes_them() -> None:
    cursor = EventCursor()
    cursor.opened(1_795_731_000_000_000_000)
    assert cursor.since() == "1795731000.000000000"
    assert cursor.admit(event("start", T))
    assert cursor.since() == "1795731860.377199729"
    assert cursor.admit(event("die", T + 1))
    assert cursor.since() == "1795731860.377199730"


def test_a_replay_drops_what_was_forwarded_and_keeps_what_was_not() -> None:
    cursor = EventCursor()
    assert cursor.admit(event("start", T))
    assert cursor.admit(event("start", T, actor="other"))  # same nanosecond, other event
    # resumed with since=T: the engine sends both again, then what is new
    assert not cursor.admit(event("start", T))
    assert not cursor.admit(event("start", T, actor="other"))
    assert not cursor.admit(event("die", T - 1))
    assert cursor.admit(event("die", T + 9))


def test_an_opening_only_moves_the_position_forward() -> None:
    cursor = EventCursor()
    cursor.admit(event("start", T))
    cursor.opened(T - 5)  # an engine clock behind the last event: keep the event's
    assert cursor.since() == "1795731860.377199729"
    cursor.opened(T + 10**9)  # a fresh stream a second later: everything before was re-read
    assert not cursor.admit(event("die", T + 5))
