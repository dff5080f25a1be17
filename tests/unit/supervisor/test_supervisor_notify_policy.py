"""Notification dedup: a flapping container makes one message per window, with a count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mediastack.supervisor.actions import Notify, Stage
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.notify_policy import NotificationThrottle


def restart_notice(name: str = "vpn-sonarr-1") -> Notify:
    return Notify(Stage.AUTOHEAL_RESTART, name, f"Restarted {name}.")


def test_a_flapping_container_does_not_flood_the_phone(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    assert throttle.admit(restart_notice(), clock.now()) == restart_notice()
    for _ in range(3):
        clock.advance(60)
        assert throttle.admit(restart_notice(), clock.now()) is None
    assert throttle.flush(clock.now()) == []
    assert throttle.next_wakeup() == clock.now() - timedelta(minutes=3) + timedelta(minutes=10)
    clock.advance(timedelta(minutes=7))
    summary = throttle.flush(clock.now())
    assert len(summary) == 1
    assert summary[0].message == "Restarted vpn-sonarr-1. (+2 more like this)"
    assert summary[0].repeats == 2
    assert throttle.next_wakeup() is None


def test_a_notice_after_the_window_carries_the_count_of_those_held_back(
    clock: FakeClock,
) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    throttle.admit(restart_notice(), clock.now())
    clock.advance(30)
    throttle.admit(restart_notice(), clock.now())
    clock.advance(timedelta(minutes=10))
    sent = throttle.admit(restart_notice(), clock.now())
    assert sent is not None and sent.repeats == 1 and "(+1 more like this)" in sent.message


def test_different_containers_and_stages_are_not_merged(clock: FakeClock) -> None:
    throttle = NotificationThrottle()
    assert throttle.admit(restart_notice("vpn-sonarr-1"), clock.now()) is not None
    assert throttle.admit(restart_notice("vpn-radarr-1"), clock.now()) is not None
    gave_up = Notify(Stage.AUTOHEAL_GAVE_UP, "vpn-sonarr-1", "left alone")
    assert throttle.admit(gave_up, clock.now()) is not None


def test_a_kind_that_went_quiet_is_forgotten(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    throttle.admit(restart_notice(), clock.now())
    clock.advance(timedelta(minutes=11))
    assert throttle.flush(clock.now()) == []
    assert throttle.admit(restart_notice(), clock.now()) == restart_notice()


@dataclass
class Outcome:
    """A delivery outcome as the notifier settles it."""

    failed: bool = False


def test_after_a_notice_never_delivered_the_next_look_alike_goes_out(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    first = Outcome()
    assert throttle.admit(restart_notice(), clock.now(), first) == restart_notice()
    clock.advance(30)
    assert throttle.admit(restart_notice(), clock.now(), Outcome()) is None  # on its way
    first.failed = True  # ntfy was down: the queue gave it up
    clock.advance(30)
    sent = throttle.admit(restart_notice(), clock.now(), Outcome())
    assert sent is not None
    assert sent.message == "Restarted vpn-sonarr-1. (+2 more like this)"  # it and the held one


def test_after_a_delivered_notice_look_alikes_are_held_back(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    assert throttle.admit(restart_notice(), clock.now(), Outcome()) is not None
    clock.advance(60)
    assert throttle.admit(restart_notice(), clock.now(), Outcome()) is None


def test_what_an_undelivered_notice_stood_for_is_carried_into_the_next(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    throttle.admit(restart_notice(), clock.now(), Outcome())
    for _ in range(3):
        clock.advance(60)
        throttle.admit(restart_notice(), clock.now(), Outcome())
    clock.advance(timedelta(minutes=8))
    (summary,) = throttle.flush(clock.now())
    summary_outcome = Outcome()
    assert throttle.admit(summary, clock.now(), summary_outcome) == summary  # it goes out
    assert summary.repeats == 2
    summary_outcome.failed = True
    clock.advance(timedelta(minutes=30))  # quiet for longer than the window
    assert throttle.flush(clock.now()) == []
    sent = throttle.admit(restart_notice(), clock.now(), Outcome())
    assert sent is not None and sent.repeats == 3  # the summary and the two it counted


def test_a_summary_at_the_windows_end_is_not_held_back_again(clock: FakeClock) -> None:
    throttle = NotificationThrottle(timedelta(minutes=10))
    throttle.admit(restart_notice(), clock.now())
    clock.advance(60)
    throttle.admit(restart_notice(), clock.now())
    clock.advance(timedelta(minutes=10))
    (summary,) = throttle.flush(clock.now())
    assert throttle.admit(summary, clock.now()) == summary  # the daemon sends it so
