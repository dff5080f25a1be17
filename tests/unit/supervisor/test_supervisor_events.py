"""Docker events parsed at the edge, against events captured from a real engine (API 1.41)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from supervisor_helpers import GLUETUN_ID, load_fixture

from mediastack.supervisor.events import (
    EventKind,
    Health,
    Relevance,
    parse_container_event,
    relevance,
)


def test_health_events_carry_the_status_in_their_action() -> None:
    event = parse_container_event(load_fixture("event-health-unhealthy.json"))
    assert event is not None
    assert event.kind is EventKind.HEALTH
    assert event.health is Health.UNHEALTHY
    assert event.action == "health_status: unhealthy"
    assert event.name == "msvcapture-sonarr-1"
    assert event.service == "sonarr"
    assert event.project == "msvcapture-vpn"
    assert event.autoheal


def test_labels_are_split_from_the_engine_attributes() -> None:
    event = parse_container_event(load_fixture("event-die.json"))
    assert event is not None
    assert event.kind is EventKind.DIE
    assert event.exit_code == 0
    assert "name" not in event.labels and "exitCode" not in event.labels
    assert event.labels["com.docker.compose.service"] == "gluetun"
    assert not event.autoheal


def test_the_event_time_comes_from_its_nanoseconds() -> None:
    event = parse_container_event(load_fixture("event-start.json"))
    assert event is not None
    raw = load_fixture("event-start.json")
    assert event.at == datetime.fromtimestamp(raw["timeNano"] / 1e9, UTC)
    assert event.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("event-create.json", EventKind.CREATE),
        ("event-start.json", EventKind.START),
        ("event-health-healthy.json", EventKind.HEALTH),
        ("event-restart.json", EventKind.RESTART),
        ("event-destroy.json", EventKind.DESTROY),
        ("event-rename-recreate.json", EventKind.RENAME),
        ("event-exec-die.json", EventKind.OTHER),
        ("event-exec-create.json", EventKind.OTHER),
    ],
)
def test_every_captured_container_action_gets_a_kind(fixture: str, kind: EventKind) -> None:
    event = parse_container_event(load_fixture(fixture))
    assert event is not None
    assert event.kind is kind


def _with(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = load_fixture("event-start.json")
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "start",
        [],
        {},
        load_fixture("event-network-connect.json"),
        _with(Actor=None),
        _with(Actor={"Attributes": {}}),
        _with(Actor={"ID": "", "Attributes": {}}),
        _with(Actor={"ID": "abc", "Attributes": ["not", "a", "mapping"]}),
        _with(Action=7),
        _with(time=None, timeNano=None),
        _with(time=True, timeNano="soon"),
        _with(time=10**30, timeNano=None),
    ],
)
def test_malformed_or_non_container_events_are_dropped_without_raising(raw: object) -> None:
    assert parse_container_event(raw) is None


def test_an_unknown_health_word_is_not_taken_for_a_health_change() -> None:
    event = parse_container_event(_with(Action="health_status: confused"))
    assert event is not None
    assert event.kind is EventKind.OTHER and event.health is None


def test_a_gluetun_restart_in_place_calls_for_one_check() -> None:
    events = [parse_container_event(raw) for raw in load_fixture("sequence-gluetun-restart.json")]
    kinds = [relevance(event) for event in events if event is not None]
    assert kinds.count(Relevance.GLUETUN_STARTED) == 1
    started = [e for e in events if e and relevance(e) is Relevance.GLUETUN_STARTED]
    assert started[0].container_id == GLUETUN_ID


def test_a_recreated_gluetun_is_recognised_by_its_service_label_under_a_new_id() -> None:
    raws = load_fixture("sequence-gluetun-recreate.json")
    events = [event for event in map(parse_container_event, raws) if event is not None]
    created = events[0]
    assert created.kind is EventKind.CREATE
    assert created.name.endswith("_msvcapture-vpn-gluetun-1")  # compose's temporary name
    started = [event for event in events if relevance(event) is Relevance.GLUETUN_STARTED]
    assert len(started) == 1
    assert started[0].container_id == created.container_id
    destroyed = [event for event in events if event.kind is EventKind.DESTROY]
    assert destroyed[0].container_id != created.container_id


def test_health_and_destroy_events_reach_autoheal() -> None:
    unhealthy = parse_container_event(load_fixture("event-health-unhealthy.json"))
    healthy_gluetun = parse_container_event(load_fixture("event-health-healthy.json"))
    destroyed = parse_container_event(load_fixture("event-destroy.json"))
    assert unhealthy and healthy_gluetun and destroyed
    assert relevance(unhealthy) is Relevance.HEALTH
    assert relevance(healthy_gluetun) is Relevance.GLUETUN_HEALTHY
    assert relevance(destroyed) is Relevance.DESTROYED


def test_a_gluetun_of_another_compose_project_is_not_ours() -> None:
    started = parse_container_event(load_fixture("sequence-gluetun-restart.json")[3])
    assert started is not None and started.kind is EventKind.START
    assert relevance(started, gluetun_project="msvcapture-vpn") is Relevance.GLUETUN_STARTED
    assert relevance(started, gluetun_project="mediastack-vpn") is Relevance.IGNORED
