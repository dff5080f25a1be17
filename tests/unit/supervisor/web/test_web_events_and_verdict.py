"""``/api/v1/events`` (the persisted history) and ``/health``'s verdict on the whole stack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web_support import TOKEN, Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.web.events import MAX_LIMIT, QueryError, events_json, parse_query
from mediastack.supervisor.web.page import needs_you
from mediastack.supervisor.web.routes import StatusRoutes
from mediastack.supervisor.web.verdict import stack_verdict
from mediastack.updates.webhook_http import RequestHead


def get(lab: Lab, target: str) -> tuple[int, dict[str, object]]:
    routes = StatusRoutes(lab.reader(), TOKEN, require_token=True)
    answer = routes.answer(RequestHead("GET", target, {"authorization": f"Bearer {TOKEN}"}))
    assert isinstance(answer.body, dict)
    return answer.status, answer.body


def test_events_merge_cascades_backups_port_sync_and_wire_newest_first(lab: Lab) -> None:
    lab.archive(lab.clock.now(), 2048, verified=True)
    lab.clock.advance(60)
    lab.finish_cascade(Outcome.HEALED, 9.5)
    lab.clock.advance(60)
    lab.sync("changed", 40000)
    lab.clock.advance(60)
    lab.wire(summary="7 links ok")

    status, body = get(lab, "/api/v1/events")

    assert status == 200
    events = body["events"]
    assert isinstance(events, list)
    assert [event["kind"] for event in events] == ["wire", "portsync", "cascade", "backup"]
    cascade = events[2]
    assert cascade["outcome"] == "healed" and cascade["duration_seconds"] == 9.5
    assert events[1]["forwarded_port"] == 40000 and events[3]["state"] == "verified"


def test_events_can_be_filtered_and_limited(lab: Lab) -> None:
    for _ in range(3):
        lab.clock.advance(60)
        lab.finish_cascade(Outcome.HEALED, 5)
    lab.sync()

    _, body = get(lab, "/api/v1/events?kind=cascade&limit=2")

    events = body["events"]
    assert isinstance(events, list) and len(events) == 2
    assert {event["kind"] for event in events} == {"cascade"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "between 1 and"),
        (f"limit={MAX_LIMIT + 1}", "between 1 and"),
        ("limit=ten", "whole number"),
        ("kind=cascades", "unknown kind 'cascades'"),
        ("since=yesterday", "unknown parameter 'since'"),
    ],
)
def test_a_bad_query_is_a_400_that_says_what_is_allowed(
    lab: Lab, query: str, message: str
) -> None:
    status, body = get(lab, f"/api/v1/events?{query}")
    assert status == 400 and message in str(body["error"])
    with pytest.raises(QueryError):
        parse_query(query)


def test_events_without_a_token_are_refused(lab: Lab) -> None:
    routes = StatusRoutes(lab.reader(), TOKEN, require_token=True)
    assert routes.answer(RequestHead("GET", "/api/v1/events", {})).status == 401


def test_no_history_is_an_empty_list(lab: Lab) -> None:
    assert events_json(lab.view(), parse_query(""))["events"] == []


def test_health_is_200_only_when_the_supervisor_and_every_service_are(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    for service in ("gluetun", "sonarr", "radarr"):
        lab.see(service)
    assert get(lab, "/health") == (
        200, {"healthy": True, "reason": "the supervisor and every service are healthy"}
    )  # fmt: skip

    lab.see("radarr", health="unhealthy")
    assert get(lab, "/health") == (503, {"healthy": False, "reason": "radarr is unhealthy"})

    lab.see("radarr", status="exited")
    lab.see("gluetun", health="starting")
    assert stack_verdict(lab.view()).reason == "gluetun is starting; radarr is exited"


def test_a_service_its_user_stopped_does_not_make_the_stack_unhealthy(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    lab.see("gluetun")
    lab.see("bazarr", status="exited")
    lab.stop_by_user("bazarr")
    assert stack_verdict(lab.view()).healthy


def test_a_supervisor_without_a_fresh_heartbeat_is_unhealthy_first(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    lab.see("gluetun")
    lab.clock.advance(timedelta(minutes=10).total_seconds())
    verdict = stack_verdict(lab.view())
    assert not verdict.healthy and verdict.reason.startswith("the supervisor: ")


def test_what_needs_you_names_waiting_links_placeholders_and_troubled_services(
    lab: Lab,
) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    lab.see("gluetun")
    lab.see("sonarr", health="unhealthy")
    lab.wire(
        LinkRecord("plex", "plex-claim", "Plex claimed", "waiting", "put a claim token in .env"),
        LinkRecord("sonarr", "sonarr-client", "Sonarr's download client", "ok"),
    )
    (lab.root / ".env").write_text(
        "WIREGUARD_PRIVATE_KEY=CHANGE_ME_WIREGUARD_PRIVATE_KEY\nAPPS_PASSWORD=s3cret-value\n"
    )

    view = lab.view()
    needs = needs_you(view)

    assert "Plex claimed: waiting (put a claim token in .env)" in needs
    assert not any("Sonarr's download client" in line for line in needs)
    placeholder = "WIREGUARD_PRIVATE_KEY in .env is still a placeholder"
    assert any(line.startswith(placeholder) for line in needs)
    assert "Not healthy: sonarr is unhealthy." in needs
    status = view.to_json()
    assert status["supervisor"]["placeholder_secrets"] == ["WIREGUARD_PRIVATE_KEY"]
    assert "s3cret-value" not in str(status) and "s3cret-value" not in str(needs)


def healthy_lab(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    lab.see("gluetun")


def test_gluetun_not_yet_healthy_after_a_restart_is_not_healthy(lab: Lab) -> None:
    healthy_lab(lab)
    lab.see("gluetun", health="starting")
    assert stack_verdict(lab.view()).reason == "gluetun is starting"


def test_a_removed_dependent_nobody_holds_is_not_healthy(lab: Lab) -> None:
    healthy_lab(lab)
    lab.see("sonarr", status="removed", health=None)
    assert stack_verdict(lab.view()).reason == "sonarr is removed"


def test_what_an_update_holds_and_what_someone_stopped_are_spared(lab: Lab) -> None:
    healthy_lab(lab)
    lab.see("sonarr", status="exited")
    lab.see("plex", status="stopped")
    lab.hold("sonarr")
    view = lab.view()
    assert stack_verdict(view).healthy
    assert view.to_json()["services"]["held"] == ["sonarr"]
