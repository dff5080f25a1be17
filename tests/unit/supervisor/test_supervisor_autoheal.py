"""Autoheal: unhealthy containers restarted after a grace, spaced, limited, never mid-cascade."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from supervisor_helpers import load_fixture

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import Gluetun, Notify, RestartContainer, Stage
from mediastack.supervisor.autoheal import AutohealPolicy, HealthReport
from mediastack.supervisor.cascade import CascadeMachine, CascadeSettings
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.events import Health, parse_container_event
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.observations import GluetunHealthy, GluetunStarted

NOTHING_LOCKED: frozenset[str] = frozenset()


def report(health: Health, name: str = "vpn-sonarr-1", service: str = "sonarr") -> HealthReport:
    return HealthReport(f"id-of-{name}", name, service, health, autoheal=True)


def unhealthy_for(
    policy: AutohealPolicy,
    clock: FakeClock,
    seconds: float,
    locked: frozenset[str] = NOTHING_LOCKED,
) -> list[RestartContainer]:
    """Tick every second for ``seconds``; return the restarts asked for."""
    restarts: list[RestartContainer] = []
    for _ in range(int(seconds)):
        clock.advance(1)
        actions = policy.tick(clock.now(), locked)
        restarts += [action for action in actions if isinstance(action, RestartContainer)]
    return restarts


def test_an_unhealthy_container_is_restarted_once_it_stayed_unhealthy_past_the_grace(
    clock: FakeClock,
) -> None:
    policy = AutohealPolicy()
    event = parse_container_event(load_fixture("event-health-unhealthy.json"))
    assert event is not None
    policy.observe(event, clock.now())
    assert policy.next_wakeup() == clock.now() + timedelta(seconds=30)
    assert unhealthy_for(policy, clock, 29) == []
    clock.advance(1)
    actions = policy.tick(clock.now(), NOTHING_LOCKED)
    assert actions[0] == RestartContainer(event.container_id, event.name, "unhealthy 30 s")
    notice = actions[1]
    assert isinstance(notice, Notify) and notice.stage is Stage.AUTOHEAL_RESTART
    assert "msvcapture-sonarr-1" in notice.message


def test_a_container_healthy_again_within_the_grace_is_not_restarted(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    policy.report(report(Health.UNHEALTHY), clock.now())
    clock.advance(20)
    policy.report(report(Health.HEALTHY), clock.now())
    assert unhealthy_for(policy, clock, 120) == []


def test_a_container_without_the_autoheal_label_is_left_to_its_owner(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    unlabelled = HealthReport("id", "vpn-sonarr-1", "sonarr", Health.UNHEALTHY, autoheal=False)
    policy.report(unlabelled, clock.now())
    assert unhealthy_for(policy, clock, 600) == []


def test_restarts_of_one_container_are_spaced_by_exponential_backoff(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    times = []
    for _ in range(3):
        policy.report(report(Health.UNHEALTHY), clock.now())
        while not unhealthy_for(policy, clock, 1):
            pass
        times.append(clock.now())
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert gaps == [timedelta(seconds=60), timedelta(seconds=120)]


def test_a_crash_looping_container_is_left_alone_with_one_alert(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    for _ in range(3):
        policy.report(report(Health.UNHEALTHY), clock.now())
        while not unhealthy_for(policy, clock, 1):
            pass
    policy.report(report(Health.UNHEALTHY), clock.now())
    clock.advance(timedelta(minutes=10))
    alerts = policy.tick(clock.now(), NOTHING_LOCKED)
    assert [type(action) for action in alerts] == [Notify]
    assert alerts[0].stage is Stage.AUTOHEAL_GAVE_UP  # type: ignore[union-attr]
    assert "crash-looping" in alerts[0].message  # type: ignore[union-attr]
    assert unhealthy_for(policy, clock, 7200) == []  # even once the window has rolled
    assert policy.tick(clock.now(), NOTHING_LOCKED) == []  # the alert is not repeated

    recovered = policy.report(report(Health.HEALTHY), clock.now())
    assert "healthy again" in recovered[0].message  # type: ignore[union-attr]
    policy.report(report(Health.UNHEALTHY), clock.now())
    assert len(unhealthy_for(policy, clock, 31)) == 1


def test_a_service_the_cascade_holds_is_never_restarted(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    policy.report(report(Health.UNHEALTHY), clock.now())
    assert unhealthy_for(policy, clock, 600, locked=frozenset({"sonarr"})) == []
    assert len(unhealthy_for(policy, clock, 1)) == 1  # released by the cascade, still unhealthy


def test_a_container_recreated_by_the_cascade_stops_counting_as_unhealthy(
    clock: FakeClock,
) -> None:
    policy = AutohealPolicy()
    policy.report(report(Health.UNHEALTHY, name="msvcapture-sonarr-1"), clock.now())
    destroyed = parse_container_event(load_fixture("event-destroy.json"))
    assert destroyed is not None
    policy.observe(destroyed, clock.now())
    assert unhealthy_for(policy, clock, 600) == []


def test_gluetun_flapping_during_its_own_vpn_restart_is_left_alone(clock: FakeClock) -> None:
    policy = AutohealPolicy()
    gluetun = {"name": "vpn-gluetun-1", "service": "gluetun"}
    policy.report(report(Health.UNHEALTHY, **gluetun), clock.now())
    assert unhealthy_for(policy, clock, 120) == []
    policy.report(report(Health.HEALTHY, **gluetun), clock.now())
    policy.report(report(Health.UNHEALTHY, **gluetun), clock.now())
    assert unhealthy_for(policy, clock, 179) == []
    assert len(unhealthy_for(policy, clock, 1)) == 1  # unhealthy past its 180 s grace


def test_a_restart_that_failed_is_reported(clock: FakeClock) -> None:
    notice = AutohealPolicy().restart_failed("vpn-sonarr-1", "engine unreachable")
    assert isinstance(notice[0], Notify) and notice[0].stage is Stage.AUTOHEAL_FAILED


def test_a_dependent_the_cascade_is_recreating_is_not_restarted_by_autoheal(
    clock: FakeClock,
) -> None:
    config = Supervisor()
    cascade = CascadeMachine(
        CascadeSettings.from_config(config), CascadeLimiter.from_settings(config)
    )
    gluetun = Gluetun("f" * 64, clock.now())
    cascade.handle(GluetunStarted(gluetun, {"sonarr": "namespace differs"}), clock.now())
    policy = AutohealPolicy()
    policy.report(report(Health.UNHEALTHY), clock.now())  # its healthcheck sees only lo
    assert unhealthy_for(policy, clock, 120, locked=cascade.locked_services()) == []
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    assert unhealthy_for(policy, clock, 120, locked=cascade.locked_services()) == []
