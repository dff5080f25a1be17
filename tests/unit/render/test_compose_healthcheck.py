"""The supervisor's rendered healthcheck: the exact command from the compose file, run with sh
against heartbeat files the daemon would write (fresh, stale, stream lost), and no Python."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediastack.config import load_config
from mediastack.render import render_stacks
from mediastack.supervisor.runtime.heartbeat import Beat, format_beat, heartbeat_path

SECRETS = "GLUETUN_API_KEY=k\nWIREGUARD_PRIVATE_KEY=w\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"


@pytest.fixture
def homelab(tmp_path: Path) -> Path:
    """A homelab in a folder whose name a shell or compose would misread unquoted."""
    root = tmp_path / "home lab $HOME"
    root.mkdir()
    (root / "mediastack.yaml").write_text("services: {supervisor: {enabled: true}}\n")
    (root / ".env").write_text(SECRETS)
    return root


def rendered_probe(homelab: Path) -> str:
    """Return the supervisor's healthcheck as the container's shell gets it: compose turns
    each ``$$`` of the file into ``$`` (its escape from interpolation)."""
    stacks = {
        stack.stack.value: stack.document
        for stack in render_stacks(load_config(homelab / "mediastack.yaml"))
    }
    test = stacks["ops"]["services"]["supervisor"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "python" not in test[1] and "mediastack supervise" not in test[1].split("||")[0]
    return str(test[1]).replace("$$", "$")


def probe_exit_code(homelab: Path, beat: Beat | None) -> int:
    heartbeat = heartbeat_path(homelab / ".mediastack" / "supervisor.db")
    if beat is not None:
        heartbeat.parent.mkdir(parents=True, exist_ok=True)
        heartbeat.write_text(format_beat(beat))
    return subprocess.run(
        ["sh", "-c", rendered_probe(homelab)], capture_output=True, timeout=10, check=False
    ).returncode


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)  # sh compares with `date +%s`


def test_a_fresh_heartbeat_with_the_stream_connected_passes(homelab: Path) -> None:
    assert probe_exit_code(homelab, Beat(ago(1), True, ago(300))) == 0


def test_a_stale_heartbeat_fails(homelab: Path) -> None:
    assert probe_exit_code(homelab, Beat(ago(60), True, ago(300))) == 1


def test_a_stream_lost_for_200_s_fails_and_for_10_s_passes(homelab: Path) -> None:
    assert probe_exit_code(homelab, Beat(ago(1), False, ago(200))) == 1
    assert probe_exit_code(homelab, Beat(ago(1), False, ago(10))) == 0


def test_no_heartbeat_or_a_garbled_one_fails(homelab: Path) -> None:
    assert probe_exit_code(homelab, None) == 1
    heartbeat = heartbeat_path(homelab / ".mediastack" / "supervisor.db")
    heartbeat.parent.mkdir(parents=True)
    heartbeat.write_text("not a number\n")
    assert probe_exit_code(homelab, None) == 1
