"""The GET routes: summary fields for Homepage, the token, /health."""

from __future__ import annotations

import json

import pytest
from web_support import TOKEN, Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.runtime.heartbeat import STALE_AFTER
from mediastack.supervisor.web.routes import StatusRoutes, token_needed
from mediastack.supervisor.web.summary import SUMMARY_FIELDS
from mediastack.updates.webhook import Answer
from mediastack.updates.webhook_http import RequestHead

BEARER = {"authorization": f"Bearer {TOKEN}"}


def get(lab: Lab, target: str, headers: dict[str, str] | None = None) -> Answer:
    routes = StatusRoutes(lab.reader(), TOKEN, require_token=True)
    return routes.answer(RequestHead("GET", target, headers or {}))


def test_the_summary_is_four_flat_scalar_fields_in_homepages_formats(lab: Lab) -> None:
    lab.beat()
    lab.finish_cascade(Outcome.HEALED, 9)
    lab.sync("changed", 51413)

    answer = get(lab, "/api/v1/summary", BEARER)

    assert answer.status == 200
    assert list(answer.body) == list(SUMMARY_FIELDS)
    assert answer.body == {
        "vpn": "connected",
        "forwarded_port": 51413,  # a `number` field
        "last_cascade": "healed",
        "supervisor": "watching",
    }


def test_the_summary_of_a_fresh_install_has_no_made_up_values(lab: Lab) -> None:
    body = get(lab, "/api/v1/summary", BEARER).body

    assert body == {
        "vpn": "not known",
        "forwarded_port": None,
        "last_cascade": "none",
        "supervisor": "never ran",
    }


def test_every_page_but_health_is_refused_without_the_token(lab: Lab) -> None:
    for target in ("/api/v1/status", "/api/v1/summary", "/metrics", "/nowhere"):
        refused = get(lab, target)
        wrong = get(lab, target, {"authorization": "Bearer not-the-token-at-all-0000"})

        assert refused.status == 401, target
        assert wrong.status == 401, target
        assert "WWW-Authenticate" in refused.headers
        assert "supervisor" not in json.dumps(refused.body)


def test_with_the_token_the_pages_answer(lab: Lab) -> None:
    status = get(lab, "/api/v1/status?pretty=1", BEARER)
    metrics = get(lab, "/metrics", BEARER)

    assert status.status == 200 and status.body["instance"] == "homelab"
    assert metrics.status == 200 and isinstance(metrics.body, bytes)
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert get(lab, "/nowhere", BEARER).status == 404


def test_health_needs_no_token_and_says_why_it_is_unhealthy(lab: Lab) -> None:
    lab.beat()
    healthy = get(lab, "/health")
    lab.clock.advance(STALE_AFTER)
    stale = get(lab, "/health")

    assert healthy.status == 200 and healthy.body["healthy"] is True
    assert stale.status == 503
    assert stale.body["healthy"] is False
    assert "not turning" in stale.body["reason"]


def test_on_loopback_only_no_token_is_asked(lab: Lab) -> None:
    routes = StatusRoutes(lab.reader(), TOKEN, require_token=token_needed("127.0.0.1"))

    assert routes.answer(RequestHead("GET", "/api/v1/summary", {})).status == 200
    assert token_needed("0.0.0.0")
    assert token_needed("192.168.1.10")


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8099", 200),
        ("localhost:8099", 200),
        ("[::1]:8099", 200),
        (None, 200),
        ("attacker.example:8099", 403),
        ("192.168.1.10:8099", 403),
    ],
)
def test_an_open_loopback_listener_answers_only_to_loopback_names(
    lab: Lab, host: str | None, status: int
) -> None:
    routes = StatusRoutes(lab.reader(), "", require_token=False)
    headers = {} if host is None else {"host": host}
    assert routes.answer(RequestHead("GET", "/api/v1/summary", headers)).status == status
