"""`mediastack portsync` through typer, against the captured-answer qBittorrent fake and a
gluetun control-server fake on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from portsync_support import FakeGluetunServer, FakeQbittorrent, free_url, serving
from typer.testing import CliRunner

from mediastack.adapters.qbittorrent import ListenPreferences
from mediastack.cli.main import app

runner = CliRunner()


@dataclass
class Stage:
    """A homelab folder and the two fakes, served."""

    folder: Path
    qbittorrent: FakeQbittorrent
    gluetun: FakeGluetunServer
    qbittorrent_url: str
    gluetun_url: str

    def run(self, *arguments: str, urls: bool = True) -> tuple[int, str, str]:
        given = ["--gluetun-url", self.gluetun_url, "--qbittorrent-url", self.qbittorrent_url]
        result = runner.invoke(
            app,
            ["-c", str(self.folder / "mediastack.yaml"), "portsync", *arguments]
            + (given if urls else []),
        )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    (tmp_path / "mediastack.yaml").write_text("name: home\nportsync: {port_wait_seconds: 5}\n")
    (tmp_path / ".env").write_text("GLUETUN_API_KEY=key-1\nQBITTORRENT_PASSWORD=s3cret\n")
    qbittorrent, gluetun = FakeQbittorrent(password="s3cret"), FakeGluetunServer()
    with serving(qbittorrent.answer) as qbittorrent_url, serving(gluetun.answer) as gluetun_url:
        yield Stage(tmp_path, qbittorrent, gluetun, qbittorrent_url, gluetun_url)


def test_a_new_port_is_set_and_a_second_run_writes_nothing(stage: Stage) -> None:
    code, out, _ = stage.run()
    assert code == 0, out
    assert "now listens on 43210, the forwarded port (was 6881)" in out
    assert stage.qbittorrent.listen == ListenPreferences(43210, False, False)
    assert stage.gluetun.requests[0].headers["X-API-Key"] == "key-1"
    writes = len(stage.qbittorrent.paths("POST"))
    code, out, _ = stage.run()
    assert code == 0 and "already listens on 43210" in out
    new_posts = stage.qbittorrent.paths("POST")[writes:]
    assert "/api/v2/app/setPreferences" not in new_posts


def test_json_output_reports_the_change(stage: Stage) -> None:
    code, out, _ = stage.run("--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["status"] == "changed" and report["written"] is True
    assert report["before"] == {"listen_port": 6881, "random_port": False, "upnp": True}
    assert report["qbittorrent_url"] == stage.qbittorrent_url and report["dry_run"] is False


def test_a_dry_run_changes_nothing(stage: Stage) -> None:
    code, out, _ = stage.run("--dry-run")
    assert code == 0 and "Dry run: would set qBittorrent's listen port from 6881 to 43210" in out
    assert stage.qbittorrent.listen.listen_port == 6881
    assert "/api/v2/app/setPreferences" not in stage.qbittorrent.paths()


def test_a_wrong_password_is_a_clear_error(stage: Stage) -> None:
    stage.qbittorrent.password = "changed"
    code, out, err = stage.run()
    assert code == 1
    assert "rejected the user name or password" in err and "fix:" in err
    assert "Traceback" not in out + err


def test_a_gluetun_401_is_a_clear_error_in_json_too(stage: Stage) -> None:
    stage.gluetun.status = 401
    code, out, _ = stage.run("--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report["status"] == "failed" and report["problem"] == "gluetun_unauthorized"
    assert "401" in report["reason"] and "GLUETUN_API_KEY" in report["fix"]


def test_qbittorrent_down_is_a_clear_error(stage: Stage) -> None:
    stage.qbittorrent_url = free_url()
    code, _, err = stage.run()
    assert code == 1 and "cannot reach qBittorrent's WebUI" in err


def test_no_port_within_the_wait_is_a_clear_error(stage: Stage) -> None:
    stage.gluetun.payload = {"port": 0}
    code, _, err = stage.run("--wait", "0")
    assert code == 1 and "no forwarded port within 0 s" in err


def test_without_an_engine_the_lookup_fails_clearly(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{stage.folder}/no-such.sock")
    code, out, _ = stage.run("--format", "json", urls=False)
    report = json.loads(out)
    assert code == 1 and report["problem"] == "gluetun_unreachable"
    assert "Docker engine is not reachable" in report["reason"]


def test_a_switched_off_port_sync_does_nothing(stage: Stage) -> None:
    (stage.folder / "mediastack.yaml").write_text("name: home\nportsync: {enabled: false}\n")
    code, out, _ = stage.run("--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "status": "disabled",
        "reason": "port sync is switched off (portsync.enabled: false)",
    }
    assert stage.qbittorrent.requests == [] and stage.gluetun.requests == []
