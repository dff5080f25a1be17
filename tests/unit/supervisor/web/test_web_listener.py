"""End to end on a real socket: the webhook's listener serves the status pages too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_support import TOKEN, Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.web.routes import StatusRoutes
from mediastack.updates.queue import UpdateRequest
from mediastack.updates.webhook import WebhookServer, WebhookSettings
from mediastack.updates.wud import ServiceDirectory


class Recording:
    """An update queue that records what it is given."""

    def __init__(self) -> None:
        self.requests: list[UpdateRequest] = []

    def __call__(self, request: UpdateRequest) -> bool:
        self.requests.append(request)
        return True


@pytest.fixture
def queue() -> Recording:
    return Recording()


@pytest.fixture
def base_url(lab: Lab, queue: Recording) -> Iterator[str]:
    settings = WebhookSettings(bind_address="127.0.0.1", port=0, token=TOKEN)
    # The token is asked even on loopback here, to see it refused over a real socket.
    pages = StatusRoutes(lab.reader(), TOKEN, require_token=True)
    server = WebhookServer(settings, ServiceDirectory([]), queue, pages=pages)
    server.start()
    host, port = server.address
    yield f"http://{host}:{port}"
    server.stop()


def test_the_pages_over_http(lab: Lab, base_url: str) -> None:
    lab.beat()
    lab.finish_cascade(Outcome.HEALED, 12)
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    with httpx.Client(base_url=base_url, timeout=5) as client:
        refused = client.get("/api/v1/status")
        status = client.get("/api/v1/status", headers=bearer)
        summary = client.get("/api/v1/summary", auth=("homepage", TOKEN))  # Basic works too
        metrics = client.get("/metrics", headers=bearer)
        health = client.get("/health")

    assert refused.status_code == 401
    assert status.status_code == 200
    assert status.json()["cascades"]["recent"][0]["outcome"] == "healed"
    assert summary.json()["last_cascade"] == "healed"
    assert summary.headers["cache-control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(metrics.text)}
    assert {"mediastack_cascades", "mediastack_heartbeat_timestamp_seconds"} <= names
    assert health.status_code == 200 and health.json()["healthy"] is True


def test_health_is_503_when_the_stream_is_gone(lab: Lab, base_url: str) -> None:
    lost_at = lab.beat(connected=False)
    lab.clock.advance(600)
    lab.beat(connected=False, since=lost_at)

    answer = httpx.get(f"{base_url}/health", timeout=5)

    assert answer.status_code == 503
    assert "event stream" in answer.json()["reason"]


def test_the_webhook_keeps_its_token_and_a_get_triggers_nothing(
    lab: Lab, base_url: str, queue: Recording
) -> None:
    with httpx.Client(base_url=base_url, timeout=5) as client:
        post = client.post("/wud", content=b"[]")
        put = client.put("/api/v1/status", content=b"{}")
        for target in ("/api/v1/status", "/api/v1/summary", "/metrics", "/health"):
            client.get(target, headers={"Authorization": f"Bearer {TOKEN}"})

    assert post.status_code == 401
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST"
    assert queue.requests == []
