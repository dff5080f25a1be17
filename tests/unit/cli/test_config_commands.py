"""init, render and config check as a user runs them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from mediastack.cli.main import app

runner = CliRunner()


def init(directory: Path, *extra: str) -> None:
    result = runner.invoke(app, ["init", str(directory), "--yes", *extra])
    assert result.exit_code == 0, result.output


def test_init_writes_config_secrets_folders_and_stacks(tmp_path: Path) -> None:
    init(tmp_path, "--puid", "1234", "--pgid", "2345", "--timezone", "Europe/Berlin")
    config = (tmp_path / "mediastack.yaml").read_text()
    assert "puid: 1234" in config and "timezone: Europe/Berlin" in config
    assert config.count("# ") > 20  # commented from the schema
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert "WIREGUARD_PRIVATE_KEY=CHANGE_ME_WIREGUARD_PRIVATE_KEY" in env.read_text()
    for folder in ("data/torrents/movies", "data/media/tv", "config/sonarr", "backups"):
        assert (tmp_path / folder).is_dir()
    if os.geteuid() == 0:
        assert (tmp_path / "data" / "torrents").stat().st_uid == 1234
    for stack in ("vpn", "media", "ops"):
        assert (tmp_path / "stacks" / stack / "compose.yaml").exists()


def test_init_generates_distinct_api_keys(tmp_path: Path) -> None:
    init(tmp_path)
    values = dict(
        line.split("=", 1)
        for line in (tmp_path / ".env").read_text().splitlines()
        if line.endswith(tuple("0123456789abcdef")) and "_API_KEY=" in line
    )
    assert len(values) == 6
    assert len(set(values.values())) == 6


def test_init_refuses_to_overwrite_and_force_keeps_secrets(tmp_path: Path) -> None:
    init(tmp_path)
    env = tmp_path / ".env"
    env.write_text(env.read_text().replace("CHANGE_ME_WIREGUARD_PRIVATE_KEY", "realkey"))
    refused = runner.invoke(app, ["init", str(tmp_path), "--yes"])
    assert refused.exit_code == 1
    assert "--force" in refused.output
    init(tmp_path, "--force", "--timezone", "Etc/UTC")
    assert "WIREGUARD_PRIVATE_KEY=realkey" in env.read_text()


def test_init_rejects_a_bad_flag_without_writing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x"), "--yes", "--timezone", "Mars/Base"])
    assert result.exit_code == 2
    assert "timezone" in result.output
    assert not (tmp_path / "x").exists()


def test_render_reports_config_problems_and_writes_nothing(tmp_path: Path) -> None:
    init(tmp_path)
    config = tmp_path / "mediastack.yaml"
    config.write_text(config.read_text() + "\nbogus: 1\n")
    before = (tmp_path / "stacks" / "vpn" / "compose.yaml").read_text()
    result = runner.invoke(app, ["-c", str(config), "render"])
    assert result.exit_code == 2
    assert "bogus" in result.output
    assert (tmp_path / "stacks" / "vpn" / "compose.yaml").read_text() == before


def test_config_check_json(tmp_path: Path) -> None:
    config = tmp_path / "mediastack.yaml"
    config.write_text("identity: {puid: -1}\nservices: {sonar: {}}\n")
    result = runner.invoke(app, ["-c", str(config), "config", "check", "--format", "json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert {p["path"] for p in payload["problems"]} == {"identity.puid", "services.sonar"}


def test_config_is_found_through_the_environment_variable(tmp_path: Path) -> None:
    init(tmp_path)
    result = runner.invoke(
        app, ["config", "check"], env={"MEDIASTACK_CONFIG": str(tmp_path / "mediastack.yaml")}
    )
    assert result.exit_code == 0, result.output


def test_every_command_has_help_with_an_example() -> None:
    for command in (["init"], ["render"], ["config", "check"], ["config", "reference"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output
