"""The status page in Debian's headless Chromium: drawn, then updated live without a reload.

The page is served by the real webhook listener on 127.0.0.1 from a real SupervisorStore in
tmp_path (the daemon's own state file, as the daemon writes it); the browser's EventSource gets
the change. The cascade is recorded in the store as the daemon records it (the lab's real
gluetun restart: test_shipped_lab). Skips without Chromium (fails under
MEDIASTACK_REQUIRE_ENGINE=1, as every skip here does).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from headless_browser import HeadlessPage, keep_screenshot

from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import FinishedCascade, Gluetun, Outcome
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import LimiterState
from mediastack.supervisor.runtime.heartbeat import Beat, format_beat, heartbeat_path
from mediastack.supervisor.state import SupervisorStore
from mediastack.supervisor.web.routes import StatusRoutes
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader
from mediastack.supervisor.web.stream import StreamSettings
from mediastack.supervisor.web.topology import topology_of_config
from mediastack.updates.coordination import FileRollbacks
from mediastack.updates.webhook import WebhookServer, WebhookSettings
from mediastack.updates.wud import ServiceDirectory

TOKEN = "a-browser-token-of-32-characters"
GLUETUN_ID = "2d473f546f61434d1cdab41010b57e48eb2ab7246392d430807bcfa64cbb7f63"
LIVE = "document.getElementById('live').textContent === 'live'"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def paths(tmp_path: Path) -> StatusPaths:
    return StatusPaths(
        tmp_path / "state" / "supervisor.db",
        tmp_path / "backups",
        tmp_path / ".mediastack" / "update-rollbacks.json",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 4, 0, tzinfo=UTC))


@pytest.fixture
def require_token() -> bool:
    return False  # bound to loopback: open, as the daemon serves it there


@pytest.fixture
def page_url(
    tmp_path: Path, paths: StatusPaths, clock: FakeClock, require_token: bool
) -> Iterator[str]:
    loaded = LoadedConfig(config=parse_config("name: homelab\n"), path=tmp_path / "m.yaml")
    reader = StatusReader(
        "homelab", paths, Supervisor(), clock, lambda path: FileRollbacks(path).rolled_back()
    )
    pages = StatusRoutes(
        reader,
        TOKEN,
        require_token=require_token,
        topology=topology_of_config(loaded),
        stream=StreamSettings(poll_seconds=0.5),
    )
    settings = WebhookSettings(bind_address="127.0.0.1", port=0, token=TOKEN)
    server = WebhookServer(settings, ServiceDirectory([]), lambda request: True, pages=pages)
    server.start()
    host, port = server.address
    yield f"http://{host}:{port}/"
    server.stop()


def write_heartbeat(paths: StatusPaths, clock: FakeClock) -> None:
    path = heartbeat_path(paths.state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = clock.now()
    path.write_text(format_beat(Beat(now, True, now)), encoding="utf-8")


def record_cascade(paths: StatusPaths, clock: FakeClock, outcome: Outcome, seconds: float) -> None:
    """Append a finished cascade to the state file, as the daemon does at its end."""
    now = clock.now()
    gluetun = Gluetun(GLUETUN_ID, now - timedelta(seconds=seconds + 1))
    finished = FinishedCascade(
        gluetun, now - timedelta(seconds=seconds), now, outcome, ("sonarr", "radarr"), ()
    )
    snapshot = CascadeSnapshot(LimiterState((now,), None), None, gluetun)
    with SupervisorStore(paths.state_file) as store:
        store.save(snapshot, [finished])


def test_the_page_shows_a_new_cascade_without_a_reload(
    browser_binary: str, page_url: str, paths: StatusPaths, clock: FakeClock, tmp_path: Path
) -> None:
    write_heartbeat(paths, clock)
    with SupervisorStore(paths.state_file) as store:
        store.set_user_stopped(frozenset({"bazarr"}))
    browser = HeadlessPage(browser_binary, page_url, tmp_path / "profile")
    try:
        browser.wait_for(LIVE, 30)
        before = browser.screenshot(tmp_path / "status-page-before.png")
        zones = browser.evaluate("document.getElementById('zones').innerText")
        vpn_zone = browser.evaluate(
            "document.querySelector('[data-service=sonarr]').closest('.zone').className"
        )
        browser.evaluate("window.loadedOnce = 'yes'")  # gone if the page reloads

        record_cascade(paths, clock, Outcome.HEALED, 9.5)
        cascades = browser.wait_for(
            "(t => t.includes('healed') && t)(document.getElementById('cascades').innerText)", 30
        )
        same_page = browser.evaluate("window.loadedOnce")
        after = browser.screenshot(tmp_path / "status-page-after.png")
    finally:
        browser.close()
    keep_screenshot(before)
    keep_screenshot(after)

    assert "gluetun's network namespace" in zones and "The host network" in zones
    assert "plex" in zones and "bazarr" in zones and "stopped by you" in zones
    assert vpn_zone == "zone vpn"
    assert "9.5 s" in cascades and "sonarr, radarr" in cascades
    assert same_page == "yes"
    assert before.read_bytes().startswith(b"\x89PNG") and after.stat().st_size > 10_000


@pytest.mark.parametrize("require_token", [True], ids=["token required"])
def test_behind_the_token_the_log_in_prompt_opens_the_page_and_its_stream(
    browser_binary: str, page_url: str, paths: StatusPaths, clock: FakeClock, tmp_path: Path
) -> None:
    """As on a phone: Chromium is refused, prompts, is given the token as the password, and
    the page's EventSource carries the same credentials (else it never goes live)."""
    write_heartbeat(paths, clock)
    browser = HeadlessPage(
        browser_binary, page_url, tmp_path / "profile", credentials=("phone", TOKEN)
    )
    try:
        live = browser.wait_for(LIVE, 30)
        prompts = browser.prompts_answered
    finally:
        browser.close()
    assert live and prompts == 1
