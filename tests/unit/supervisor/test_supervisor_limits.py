"""The cascade limit: five an hour, then a loop pause that says so and that resume lifts."""

from __future__ import annotations

from datetime import timedelta

from mediastack.config.schema import Supervisor
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import (
    Allowed,
    CascadeLimiter,
    LimiterState,
    Paused,
    RateLimited,
)


def limiter() -> CascadeLimiter:
    return CascadeLimiter.from_settings(Supervisor())


def test_a_sixth_cascade_within_the_hour_is_refused_and_pauses_for_an_hour(
    clock: FakeClock,
) -> None:
    limits = limiter()
    for count in range(1, 6):
        assert limits.request(clock.now()) == Allowed(count)
        clock.advance(timedelta(minutes=5))
    refusal = limits.request(clock.now())
    assert refusal == RateLimited(clock.now() + timedelta(hours=1), 5)
    status = limits.status(clock.now())
    assert not status.watching and status.paused_until == refusal.until


def test_requests_during_the_pause_are_refused_quietly(clock: FakeClock) -> None:
    limits = limiter()
    for _ in range(6):
        limits.request(clock.now())
    until = limits.state.pause_until
    assert until is not None
    clock.advance(timedelta(minutes=30))
    assert limits.request(clock.now()) == Paused(until)


def test_resume_lifts_the_pause_and_gives_a_fresh_budget(clock: FakeClock) -> None:
    limits = limiter()
    for _ in range(6):
        limits.request(clock.now())
    assert limits.resume() is True
    assert limits.status(clock.now()).watching
    assert limits.request(clock.now()) == Allowed(1)
    assert limits.resume() is False  # nothing was paused


def test_the_window_rolls_so_an_old_cascade_stops_counting(clock: FakeClock) -> None:
    limits = limiter()
    for _ in range(5):
        limits.request(clock.now())
        clock.advance(timedelta(minutes=10))
    clock.advance(timedelta(minutes=11))  # the first is now more than an hour old
    assert limits.request(clock.now()) == Allowed(5)


def test_a_pause_ends_by_itself_once_its_time_is_over(clock: FakeClock) -> None:
    limits = CascadeLimiter(2, pause=timedelta(minutes=10))
    for _ in range(3):
        limits.request(clock.now())
    clock.advance(timedelta(minutes=9))
    assert limits.expire_pause(clock.now()) is False
    clock.advance(timedelta(minutes=1))
    assert limits.status(clock.now()).watching
    assert limits.expire_pause(clock.now()) is True
    assert limits.expire_pause(clock.now()) is False


def test_the_state_is_plain_data_that_survives_a_restart(clock: FakeClock) -> None:
    limits = limiter()
    for _ in range(6):
        limits.request(clock.now())
    saved = limits.state
    assert isinstance(saved, LimiterState)
    restored = CascadeLimiter.from_settings(Supervisor(), saved)
    assert restored.status(clock.now()).paused_until == saved.pause_until
    assert isinstance(restored.request(clock.now()), Paused)


def test_the_config_sets_the_limit_and_the_pause(clock: FakeClock) -> None:
    limits = CascadeLimiter.from_settings(
        Supervisor(max_cascades_per_hour=1, loop_pause_seconds=600)
    )
    assert limits.request(clock.now()) == Allowed(1)
    refusal = limits.request(clock.now())
    assert refusal == RateLimited(clock.now() + timedelta(minutes=10), 1)
