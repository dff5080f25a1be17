"""The supervisor container's event stream, idle behind the socket proxy, is cut by the proxy's
timeout and resumed without a full engine re-read; events still reach it afterwards.

The socket-proxy peer is upstream's haproxy template (``timeout client/server 10m``) with only
those two timeouts shortened to 40 s, so that two cuts fit in a test: the one change to the
shipped deployment here, said so. 40 s, not less: the daemon resumes without a re-read only a
stream that stayed open and silent 30 s (``event_stream``); a shorter cut is a broken stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from homelab import Homelab, make_homelab
from standins import STANDIN_SOURCES, docker, remove_test_resources, session_prefix
from test_shipped_lab import container_ids, health_of
from test_supervisor_harness import keep_only, wait_until

PROJECT_PREFIX = f"{session_prefix()}idle"
KEPT = ("gluetun", "sonarr", "socket-proxy", "supervisor")
CUT_SECONDS = 40
TEMPLATE = STANDIN_SOURCES / "socket-proxy" / "rootfs" / "templates" / "haproxy.cfg"


def shortened_template(folder: Path) -> Path:
    """Write upstream's template with the client and server timeouts at CUT_SECONDS."""
    text = TEMPLATE.read_text()
    shorter, count = re.subn(r"timeout (client|server) 10m", rf"timeout \1 {CUT_SECONDS}s", text)
    assert count == 2, "the upstream template changed: look at its timeouts again"
    path = folder / "haproxy.cfg"
    path.write_text(shorter)
    return path


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, standin_images: dict[str, str]
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    root = tmp_path_factory.mktemp("idle")
    homelab = make_homelab(root / "homelab", PROJECT_PREFIX, standin_images, supervisor=True)
    config = yaml.safe_load(homelab.config_path.read_text())
    keep_only(config, KEPT)
    homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert homelab.run("render").returncode == 0
    compose_file = homelab.root / "stacks" / "ops" / "compose.yaml"
    document = yaml.safe_load(compose_file.read_text())
    template = shortened_template(root)
    document["services"]["socket-proxy"]["volumes"].append(
        f"{template}:/templates/haproxy.cfg:ro"
    )
    compose_file.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        started = homelab.run("up", timeout=900)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=300)
        remove_test_resources(PROJECT_PREFIX)


def supervisor_log(lab: Homelab) -> str:
    logs = docker("logs", container_ids(lab, "ops")["supervisor"], check=False)
    return logs.stdout + logs.stderr


def test_an_idle_stream_cut_by_the_proxy_is_resumed_without_re_reading_the_engine(
    lab: Homelab,
) -> None:
    wait_until(
        lambda: supervisor_log(lab).count("resumed after an idle cut") >= 2,
        timeout=CUT_SECONDS * 4,
        what="two idle cuts resumed",
    )
    log = supervisor_log(lab)
    assert log.count("engine read (") == 1, log  # the one at start, none after the cuts
    # Nothing was lost: a gluetun restart after the cuts is still seen and healed.
    before = container_ids(lab, "vpn")
    docker("restart", "-t", "2", before["gluetun"])

    def sonarr_recreated() -> bool:
        now = container_ids(lab, "vpn").get("sonarr")
        return now not in (None, before["sonarr"]) and health_of(now) == "healthy"

    wait_until(sonarr_recreated, timeout=120, what="sonarr recreated after the cuts")
