"""The daemon's webhook, built from the config, serves the status pages from its files."""

from __future__ import annotations

from pathlib import Path

from mediastack.config import LoadedConfig, load_config
from mediastack.render import compose_text, render_stacks
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.web.serving import status_pages
from mediastack.updates.pipeline import build_webhook_server
from mediastack.updates.webhook import CONTAINER_BIND_VARIABLE, Answer
from mediastack.updates.webhook_http import RequestHead

TOKEN_VARIABLE = "MEDIASTACK_WEBHOOK_TOKEN"
TOKEN = "t" * 32


def rendered_homelab(folder: Path) -> LoadedConfig:
    (folder / "mediastack.yaml").write_text("name: home\nupdates:\n  webhook: {enabled: true}\n")
    loaded = load_config(folder / "mediastack.yaml")
    for rendered in render_stacks(loaded):
        path = loaded.compose_file(rendered.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(compose_text(rendered, loaded.path))
    return loaded


def get(loaded: LoadedConfig, environment: dict[str, str], target: str) -> Answer:
    pages = status_pages(loaded, loaded.folder(Path("state.db")), FakeClock())
    server = build_webhook_server(loaded, lambda request: True, environment, pages)
    answer = server.decide_head("192.0.2.1", RequestHead("GET", target, {}))
    assert isinstance(answer, Answer)
    return answer


def test_in_the_container_the_pages_want_the_webhook_token(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)
    environment = {TOKEN_VARIABLE: TOKEN, CONTAINER_BIND_VARIABLE: "0.0.0.0"}

    assert get(loaded, environment, "/api/v1/summary").status == 401
    assert get(loaded, environment, "/health").status == 503  # no daemon ran here


def test_on_a_host_bound_to_loopback_the_pages_are_open(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path)

    answer = get(loaded, {TOKEN_VARIABLE: TOKEN}, "/api/v1/summary")

    assert answer.status == 200
    assert answer.body["supervisor"] == "never ran"
