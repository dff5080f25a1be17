"""The supervisor's one listener, built from the config: the status pages with their own
read-only token, the update webhook with its own, each switched on and off apart."""

from __future__ import annotations

import base64
from pathlib import Path

from mediastack.config import LoadedConfig, load_config
from mediastack.render import compose_text, render_stacks
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.web.serving import status_pages
from mediastack.updates.listening import build_listener
from mediastack.updates.webhook import CONTAINER_BIND_VARIABLE, Answer, ReadBody, WebhookServer
from mediastack.updates.webhook_http import RequestHead

WEBHOOK_VARIABLE = "MEDIASTACK_WEBHOOK_TOKEN"
STATUS_VARIABLE = "MEDIASTACK_STATUS_TOKEN"
WEBHOOK_TOKEN = "w" * 32
STATUS_TOKEN = "s" * 32
IN_THE_CONTAINER = {CONTAINER_BIND_VARIABLE: "0.0.0.0"}


def rendered_homelab(folder: Path, config: str = "name: home\n") -> LoadedConfig:
    (folder / "mediastack.yaml").write_text(config)
    loaded = load_config(folder / "mediastack.yaml")
    for rendered in render_stacks(loaded):
        path = loaded.compose_file(rendered.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(compose_text(rendered, loaded.path))
    return loaded


def listener(loaded: LoadedConfig, environment: dict[str, str]) -> WebhookServer:
    pages = status_pages(loaded, loaded.folder(Path("state.db")), FakeClock(), environment)
    enqueue = (lambda request: True) if loaded.config.updates.webhook.enabled else None
    return build_listener(loaded, enqueue, environment, pages)


def request(
    server: WebhookServer, method: str, target: str, token: str | None = None
) -> Answer | ReadBody:
    headers = {"content-length": "2"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return server.decide_head("192.0.2.1", RequestHead(method, target, headers))


def status_of(verdict: Answer | ReadBody) -> int:
    assert isinstance(verdict, Answer)
    return verdict.status


def test_by_default_the_listener_serves_the_pages_with_the_status_token_only(
    tmp_path: Path,
) -> None:
    loaded = rendered_homelab(tmp_path)
    server = listener(loaded, {**IN_THE_CONTAINER, STATUS_VARIABLE: STATUS_TOKEN})

    assert status_of(request(server, "GET", "/api/v1/summary")) == 401
    assert status_of(request(server, "GET", "/api/v1/summary", WEBHOOK_TOKEN)) == 401
    assert status_of(request(server, "GET", "/api/v1/summary", STATUS_TOKEN)) == 200
    basic = base64.b64encode(f"homepage:{STATUS_TOKEN}".encode()).decode()
    answer = server.decide_head(
        "192.0.2.1", RequestHead("GET", "/metrics", {"authorization": f"Basic {basic}"})
    )
    assert status_of(answer) == 200
    assert status_of(request(server, "GET", "/health")) == 503  # open; no daemon ran here


def test_the_status_token_cannot_trigger_an_update_with_the_webhook_off(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)
    server = listener(loaded, {**IN_THE_CONTAINER, STATUS_VARIABLE: STATUS_TOKEN})

    answer = request(server, "POST", "/", STATUS_TOKEN)

    assert isinstance(answer, Answer) and answer.status == 404
    assert "updates.webhook.enabled: true" in answer.body["error"]


def test_with_the_webhook_on_each_token_opens_only_its_own_door(tmp_path: Path) -> None:
    config = "name: home\nupdates:\n  webhook: {enabled: true}\n"
    loaded = rendered_homelab(tmp_path, config)
    environment = {
        **IN_THE_CONTAINER,
        STATUS_VARIABLE: STATUS_TOKEN,
        WEBHOOK_VARIABLE: WEBHOOK_TOKEN,
    }
    server = listener(loaded, environment)

    assert status_of(request(server, "POST", "/", STATUS_TOKEN)) == 401
    assert request(server, "POST", "/", WEBHOOK_TOKEN) == ReadBody(2)
    assert status_of(request(server, "GET", "/api/v1/status", STATUS_TOKEN)) == 200


def test_a_missing_status_token_says_how_to_get_one(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)
    server = listener(loaded, dict(IN_THE_CONTAINER))

    answer = request(server, "GET", "/", "anything-anything-anything")

    assert isinstance(answer, Answer) and answer.status == 401
    assert "MEDIASTACK_STATUS_TOKEN is missing from .env" in answer.body["error"]
    assert status_of(request(server, "GET", "/health")) == 503


def test_the_status_token_is_read_from_the_env_file_too(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)
    loaded.env_file.write_text(f"{STATUS_VARIABLE}={STATUS_TOKEN}\n")
    server = listener(loaded, dict(IN_THE_CONTAINER))

    assert status_of(request(server, "GET", "/api/v1/summary", STATUS_TOKEN)) == 200


def test_on_a_host_bound_to_loopback_the_pages_are_open(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)

    answer = request(listener(loaded, {}), "GET", "/api/v1/summary")

    assert isinstance(answer, Answer) and answer.status == 200
    assert answer.body["supervisor"] == "never ran"


def test_reads_have_a_window_of_their_own_so_a_dashboard_cannot_use_up_wuds(
    tmp_path: Path,
) -> None:
    config = (
        "name: home\nstatus: {requests_per_minute: 5}\n"
        "updates:\n  webhook: {enabled: true, requests_per_minute: 2}\n"
    )
    loaded = rendered_homelab(tmp_path, config)
    server = listener(loaded, {STATUS_VARIABLE: STATUS_TOKEN, WEBHOOK_VARIABLE: WEBHOOK_TOKEN})

    reads = [status_of(request(server, "GET", "/api/v1/summary")) for _ in range(6)]
    assert reads == [200] * 5 + [429]
    assert request(server, "POST", "/", WEBHOOK_TOKEN) == ReadBody(2)  # WUD still gets in


def test_with_the_status_pages_off_a_get_is_refused(tmp_path: Path) -> None:
    config = "name: home\nstatus: {enabled: false}\nupdates:\n  webhook: {enabled: true}\n"
    loaded = rendered_homelab(tmp_path, config)
    server = build_listener(loaded, lambda request: True, {WEBHOOK_VARIABLE: WEBHOOK_TOKEN})

    assert status_of(request(server, "GET", "/api/v1/summary")) == 405
