"""The webhook server for real on 127.0.0.1 (a free port): token, size, rate, payload, queue."""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from updates_support import FIXTURES, vpn_project

from mediastack.catalogue import CATALOGUE
from mediastack.config import load_config
from mediastack.render.compose import render_service
from mediastack.stack.rendered import RenderedService
from mediastack.updates.model import Source
from mediastack.updates.queue import UpdateQueue, UpdateRequest
from mediastack.updates.ratelimit import SlidingWindowLimiter
from mediastack.updates.webhook import (
    WebhookConfigError,
    WebhookServer,
    WebhookSettings,
    token_matches,
    webhook_bind_address,
)
from mediastack.updates.wud import ServiceDirectory

TOKEN = "0123456789abcdef0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Sink:
    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.requests: list[UpdateRequest] = []

    def __call__(self, request: UpdateRequest) -> bool:
        self.requests.append(request)
        return self.accept


def start(sink: Sink, **overrides: object) -> WebhookServer:
    values: dict[str, object] = {"max_body_bytes": 4096, "requests_per_minute": 100}
    values.update(overrides)
    settings = WebhookSettings(
        bind_address="127.0.0.1",
        port=0,
        token=TOKEN,
        **values,  # type: ignore[arg-type]
    )
    project = vpn_project(
        RenderedService("gluetun", "qmcgaw/gluetun:v3", "gluetun", None),
        RenderedService("sonarr", "lscr.io/linuxserver/sonarr", "vpn", "service:gluetun"),
    )
    server = WebhookServer(settings, ServiceDirectory([project]), sink)
    server.start()
    return server


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def server(sink: Sink) -> Iterator[WebhookServer]:
    running = start(sink)
    yield running
    running.stop()


def url(server: WebhookServer) -> str:
    host, port = server.address
    return f"http://{host}:{port}/wud"


def simple() -> bytes:
    return (FIXTURES / "wud-simple.json").read_bytes()


def test_a_simple_payload_with_the_bearer_token_queues_its_service(
    server: WebhookServer, sink: Sink
) -> None:
    answer = httpx.post(url(server), content=simple(), headers=BEARER)
    assert answer.status_code == 202
    assert answer.json() == {"queued": ["sonarr"], "ignored": []}
    assert sink.requests == [UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"}))]


def test_a_batch_queues_ours_and_lists_the_rest(server: WebhookServer, sink: Sink) -> None:
    body = (FIXTURES / "wud-batch.json").read_bytes()
    answer = httpx.post(url(server), content=body, headers=BEARER)
    assert answer.status_code == 202
    assert answer.json()["queued"] == ["gluetun"]
    assert [entry["name"] for entry in answer.json()["ignored"]] == [
        "home-vpn-cross-seed-1",
        "portainer",
    ]


def test_basic_auth_carries_the_token_as_its_password(server: WebhookServer) -> None:
    answer = httpx.post(url(server), content=simple(), auth=("wud", TOKEN))
    assert answer.status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": "Basic !!!"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
def test_without_the_token_the_answer_is_401_and_nothing_is_queued(
    server: WebhookServer, sink: Sink, headers: dict[str, str]
) -> None:
    answer = httpx.post(url(server), content=simple(), headers=headers)
    assert answer.status_code == 401
    assert "Bearer" in answer.headers["WWW-Authenticate"]
    assert sink.requests == []


def test_a_malformed_payload_is_400(server: WebhookServer, sink: Sink) -> None:
    answer = httpx.post(url(server), content=b'{"name": "x"}', headers=BEARER)
    assert answer.status_code == 400
    assert "image" in answer.json()["error"]
    assert sink.requests == []


def test_nothing_to_queue_is_200(server: WebhookServer, sink: Sink) -> None:
    body = (FIXTURES / "wud-no-update.json").read_bytes()
    answer = httpx.post(url(server), content=body, headers=BEARER)
    assert answer.status_code == 200
    assert answer.json()["queued"] == [] and sink.requests == []


def test_a_body_over_the_cap_is_413_before_it_is_read(server: WebhookServer) -> None:
    answer = httpx.post(url(server), content=b"x" * 5000, headers=BEARER)
    assert answer.status_code == 413


def test_a_body_without_a_length_is_411(server: WebhookServer) -> None:
    host, port = server.address
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n\r\n0\r\n\r\n".encode()
        )
        reply = connection.recv(200)
    assert reply.startswith(b"HTTP/1.0 411")


def test_anything_but_post_is_405(server: WebhookServer) -> None:
    answer = httpx.get(url(server), headers=BEARER)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


def test_a_full_queue_is_503(sink: Sink) -> None:
    sink.accept = False
    running = start(sink)
    try:
        answer = httpx.post(url(running), content=simple(), headers=BEARER)
    finally:
        running.stop()
    assert answer.status_code == 503


def test_the_rate_limit_answers_429_with_retry_after(sink: Sink) -> None:
    running = start(sink, requests_per_minute=2)
    try:
        codes = [
            httpx.post(url(running), content=simple(), headers=BEARER).status_code for _ in range(3)
        ]
        refused = httpx.post(url(running), content=simple(), headers={})
    finally:
        running.stop()
    assert codes == [202, 202, 429]
    assert refused.status_code == 429  # wrong tokens are rate-limited too: no brute force
    assert int(refused.headers["Retry-After"]) >= 1


SLOW_HEAD = b"POST /wud HTTP/1.1\r\nHost: webhook\r\nX-Slow: " + b"a" * 200


def slow_client(address: tuple[str, int], answers: list[bytes]) -> None:
    """Send a request head one byte at a time, far slower than the deadline allows; keep
    the answer the server sends (b"" when none)."""
    with socket.create_connection(address, timeout=30) as connection:
        for byte in SLOW_HEAD:
            if select.select([connection], [], [], 0.1)[0]:
                break
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                break
        try:
            answers.append(connection.recv(200))
        except OSError:
            answers.append(b"")


def test_slow_clients_in_every_slot_do_not_keep_a_valid_request_out(sink: Sink) -> None:
    running = start(sink, max_connections=8, request_deadline_seconds=1.0)
    answers: list[bytes] = []
    slow = [threading.Thread(target=slow_client, args=(running.address, answers)) for _ in range(8)]
    try:
        for client in slow:
            client.start()
        time.sleep(0.3)  # all eight connected and holding a slot before the ninth comes
        served = httpx.post(url(running), content=simple(), headers=BEARER, timeout=10)
        for client in slow:
            client.join(timeout=30)
    finally:
        running.stop()
    assert served.status_code == 202
    assert sink.requests == [UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"}))]
    assert len(answers) == 8
    assert all(answer.startswith(b"HTTP/1.0 408") for answer in answers)  # cut at the deadline


@pytest.mark.parametrize("declared", [4000, 10**12])
def test_without_a_token_the_answer_is_401_before_any_body_is_sent(
    server: WebhookServer, sink: Sink, declared: int
) -> None:
    with socket.create_connection(server.address, timeout=5) as connection:
        connection.sendall(
            f"POST /wud HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode()
        )
        reply = connection.recv(400)
        closed = connection.recv(400)
    assert reply.startswith(b"HTTP/1.0 401")
    assert closed == b""  # closed at once: no wait for the body it announced
    assert sink.requests == []


@pytest.mark.parametrize(
    "head",
    [
        b"NOT-HTTP\r\n\r\n",
        b"POST /wud HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n",
        b"POST /wud HTTP/1.1\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    ],
    ids=["no-request-line", "no-colon", "head-too-large"],
)
def test_a_malformed_request_is_400(server: WebhookServer, head: bytes) -> None:
    with socket.create_connection(server.address, timeout=5) as connection:
        connection.sendall(head)
        reply = connection.recv(200)
    assert reply.startswith(b"HTTP/1.0 400")


def test_a_short_token_refuses_to_start() -> None:
    with pytest.raises(WebhookConfigError, match="at least 16"):
        WebhookSettings(bind_address="127.0.0.1", port=0, token="short")


def test_token_matching() -> None:
    basic = base64.b64encode(f"any-user:{TOKEN}".encode()).decode()
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer   {TOKEN}  ", TOKEN)
    assert token_matches(f"Basic {basic}", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("Bearer ", TOKEN)
    assert not token_matches(f"Basic {base64.b64encode(TOKEN.encode()).decode()}", TOKEN)


def test_the_limiter_slides_and_forgets_idle_clients() -> None:
    limiter = SlidingWindowLimiter(2, window_seconds=60, max_clients=2)
    assert limiter.admit("a", 0).allowed and limiter.admit("a", 1).allowed
    refused = limiter.admit("a", 2)
    assert not refused.allowed and refused.retry_after_seconds == 58
    assert limiter.admit("a", 60.5).allowed  # the first one slid out
    limiter.admit("b", 61)
    limiter.admit("c", 62)  # a third client: the one idle longest ("a") is forgotten
    assert limiter.admit("a", 63).allowed and limiter.admit("a", 63).allowed


def test_the_queue_merges_per_source_and_bounds_the_services() -> None:
    queue = UpdateQueue(capacity=3)
    assert queue.put(UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"})))
    assert queue.put(UpdateRequest(Source.WEBHOOK, frozenset({"radarr"})))
    assert not queue.put(UpdateRequest(Source.WEBHOOK, frozenset({"a", "b"})))
    assert queue.put(UpdateRequest(Source.SCHEDULE))
    assert queue.put(UpdateRequest(Source.CLI, frozenset({"plex"})))
    taken = queue.take(timeout_seconds=0)
    assert taken == [
        UpdateRequest(Source.CLI, frozenset({"plex"})),
        UpdateRequest(Source.SCHEDULE),
        UpdateRequest(Source.WEBHOOK, frozenset({"sonarr", "radarr"})),
    ]
    assert queue.take(timeout_seconds=0.01) == []
    assert (
        UpdateRequest(Source.SCHEDULE, frozenset({"x"}))
        .merged(UpdateRequest(Source.SCHEDULE))
        .every_service
    )


def test_the_payload_in_json_mode_round_trips(server: WebhookServer) -> None:
    batch = json.loads((FIXTURES / "wud-batch.json").read_text())
    answer = httpx.post(url(server), json=batch[0], headers=BEARER)
    assert answer.status_code == 202 and answer.json()["queued"] == ["gluetun"]


def test_closing_the_queue_wakes_a_worker_blocked_in_take() -> None:
    import threading

    from mediastack.updates import UpdateQueue

    queue = UpdateQueue()
    taken: list[object] = []
    worker = threading.Thread(target=lambda: taken.append(queue.take(timeout_seconds=None)))
    worker.start()
    queue.close()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert taken == [[]]
    assert queue.take(timeout_seconds=None) == []


def test_the_default_address_is_loopback_on_a_host_and_the_container_s_own_in_the_supervisor(
    tmp_path: Path,
) -> None:
    (tmp_path / "mediastack.yaml").write_text("name: home\nupdates: {webhook: {enabled: true}}\n")
    loaded = load_config(tmp_path / "mediastack.yaml")
    configured = loaded.config.updates.webhook.bind_address
    in_container = render_service(loaded, CATALOGUE["supervisor"])["environment"]
    assert webhook_bind_address(configured, {}) == "127.0.0.1"  # a daemon run on the host
    assert webhook_bind_address(configured, in_container) == "0.0.0.0"  # the container's own
    assert webhook_bind_address("192.168.1.10", in_container) == "192.168.1.10"
