"""``mediastack doctor`` as a user runs it: exit codes, the JSON shape, the table.

The engine, compose and /dev/net/tun probes are replaced by facts (these tests need no Docker);
folders, hardlinks, disk, ports and secrets are probed for real under tmp_path.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from mediastack.cli.common import CliState
from mediastack.cli.doctor_command import register
from mediastack.config import LoadedConfig
from mediastack.doctor import probes
from mediastack.doctor.expectations import expected_published_ports
from mediastack.doctor.facts import ComposeFacts, DeviceFacts, DeviceKind, EngineFacts

MakeConfig = Callable[..., LoadedConfig]
CHECK_IDS = [
    "engine",
    "compose",
    "tun",
    "folders",
    "hardlinks",
    "disk-data",
    "disk-config",
    "ports",
    "secrets-file",
    "secrets-values",
]
runner = CliRunner()


def build_app() -> typer.Typer:
    app = typer.Typer(rich_markup_mode="markdown")

    @app.callback()
    def main(context: typer.Context, config: Path = typer.Option(..., "-c")) -> None:
        context.obj = CliState(config_path=config)

    register(app)
    return app


def doctor(loaded_or_path: LoadedConfig | Path, *arguments: str) -> Result:
    path = loaded_or_path if isinstance(loaded_or_path, Path) else loaded_or_path.path
    return runner.invoke(build_app(), ["-c", str(path), "doctor", *arguments])


@pytest.fixture(autouse=True)
def healthy_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reachable 20.10 engine, Compose v2.40 and a tun device, whatever this host has."""
    engine = EngineFacts(reachable=True, version="20.10.24+dfsg1", api_version="1.41")
    monkeypatch.setattr(probes, "probe_engine", lambda: engine)
    monkeypatch.setattr(probes, "probe_compose", lambda: ComposeFacts(True, "v2.40.3"))
    tun = DeviceFacts(probes.TUN_DEVICE, DeviceKind.CHARACTER_DEVICE)
    monkeypatch.setattr(probes, "probe_device", lambda path: tun)
    monkeypatch.setattr(probes, "probe_stack_port_holders", lambda projects: {})


def free_port() -> int:
    with socket.socket() as trial:
        trial.bind(("127.0.0.1", 0))
        return int(trial.getsockname()[1])


@pytest.fixture
def healthy_config(make_config: MakeConfig) -> LoadedConfig:
    """A config whose every published port is a free one on 127.0.0.1, with its folders and
    a 0600 .env of real values (jellyfin: plex's fixed port 32400 may be taken here)."""
    loaded = make_config("media_server: jellyfin\nnetwork: {bind_address: 127.0.0.1}\n")
    overrides = "".join(
        f"  {port.service}: {{ports: {{{port.port_name}: {free_port()}}}}}\n"
        for port in expected_published_ports(loaded)
        if port.service != "supervisor"  # its listener moves with updates.webhook.port
    )
    text = (
        "media_server: jellyfin\nnetwork: {bind_address: 127.0.0.1}\n"
        f"updates: {{webhook: {{port: {free_port()}}}}}\nservices:\n{overrides}"
    )
    return make_config(text, folders=True)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield int(listening.getsockname()[1])


def statuses(stdout: str) -> dict[str, str]:
    return {check["id"]: check["status"] for check in json.loads(stdout)["checks"]}


def test_a_healthy_host_exits_0_with_only_the_json_report(healthy_config: LoadedConfig) -> None:
    result = doctor(healthy_config, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout holds the report and nothing else
    assert list(report) == ["checks", "passed", "warnings", "failed"]
    assert [check["id"] for check in report["checks"]] == CHECK_IDS
    for check in report["checks"]:
        assert list(check) == ["id", "title", "status", "message", "fix"]
    assert report["failed"] == 0
    assert report["passed"] + report["warnings"] == len(CHECK_IDS)
    found = statuses(result.stdout)
    for check_id in ("engine", "folders", "hardlinks", "ports", "secrets-file", "secrets-values"):
        assert found[check_id] == "pass", result.stdout


def test_a_port_taken_by_another_program_exits_1(make_config: MakeConfig, listener: int) -> None:
    loaded = make_config(
        "network: {bind_address: 127.0.0.1}\n"
        f"services: {{sonarr: {{ports: {{webui: {listener}}}}}}}\n",
        folders=True,
    )
    result = doctor(loaded, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    ports = next(check for check in report["checks"] if check["id"] == "ports")
    assert ports["status"] == "fail"
    assert f"127.0.0.1:{listener}/tcp (sonarr webui) is in use" in ports["message"]
    assert "set services.sonarr.ports.webui: N" in ports["fix"]
    assert report["failed"] >= 1


def test_an_unreachable_engine_exits_1(
    healthy_config: LoadedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = EngineFacts(reachable=False, error="connection refused")
    monkeypatch.setattr(probes, "probe_engine", lambda: down)
    result = doctor(healthy_config, "--format", "json")
    assert result.exit_code == 1
    assert statuses(result.stdout)["engine"] == "fail"


def test_warnings_alone_exit_0_and_the_table_shows_them(healthy_config: LoadedConfig) -> None:
    healthy_config.env_file.chmod(0o644)
    healthy_config.env_file.write_text("WIREGUARD_PRIVATE_KEY=CHANGE_ME_WIREGUARD_PRIVATE_KEY\n")
    result = doctor(healthy_config)
    assert result.exit_code == 0, result.output
    for text in ("✓", "!", "Hardlinks", "chmod 600", "WIREGUARD_PRIVATE_KEY", "warning(s)"):
        assert text in result.stdout
    assert "✗" not in result.stdout


def test_missing_folders_fail_in_the_table_and_exit_1(make_config: MakeConfig) -> None:
    loaded = make_config()
    result = doctor(loaded)
    assert result.exit_code == 1
    assert "✗" in result.stdout and "mkdir -p" in result.stdout


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    result = doctor(tmp_path / "absent.yaml")
    assert result.exit_code == 2


def test_help_explains_with_an_example() -> None:
    result = runner.invoke(build_app(), ["-c", "x", "doctor", "--help"])
    assert result.exit_code == 0
    assert "hardlink" in result.stdout and "Example" in result.stdout
    assert "mediastack doctor --format json" in result.stdout
