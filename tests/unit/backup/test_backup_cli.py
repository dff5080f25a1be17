"""The commands through typer: backup (and --dry-run), list, verify, prune, restore."""

from __future__ import annotations

import json

from backup_support import Lab
from typer.testing import CliRunner

from mediastack.cli.main import app

runner = CliRunner()


def invoke(lab: Lab, *arguments: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(lab.loaded.path), *arguments])
    return result.exit_code, result.output


def test_a_dry_run_shows_what_would_be_archived_and_writes_nothing(lab: Lab) -> None:
    code, output = invoke(lab, "backup", "--dry-run", "--format", "json")
    assert code == 0, output
    plan = json.loads(output)
    assert plan["apps"] == ["plex", "radarr", "sonarr"]
    assert "apps/sonarr/sonarr.db" in plan["databases"]
    assert "apps/sonarr/logs" in plan["excluded"]
    assert lab.archives() == []
    code, output = invoke(lab, "backup", "--dry-run")
    assert code == 0 and "database (online backup): apps/sonarr/sonarr.db" in output


def test_backup_then_list_verify_and_prune(lab: Lab) -> None:
    code, output = invoke(lab, "backup", "--format", "json")
    assert code == 0, output
    written = json.loads(output)
    assert written["verified"] and written["databases"] == 3
    code, output = invoke(lab, "backup", "list", "--format", "json")
    (listed,) = json.loads(output)
    assert listed["archive"] == written["archive"] and listed["state"] == "verified"
    assert listed["size_bytes"] == written["size_bytes"]
    code, output = invoke(lab, "backup", "list")
    assert code == 0 and "verified" in output
    code, output = invoke(lab, "backup", "verify", "--format", "json")
    assert code == 0 and json.loads(output)["ok"]
    code, output = invoke(lab, "backup", "prune", "--dry-run")
    assert code == 0 and "nothing to prune" in output


def test_a_failed_verification_exits_1(lab: Lab) -> None:
    invoke(lab, "backup")
    (archive,) = lab.archives()
    archive.write_bytes(archive.read_bytes()[:-100])
    code, output = invoke(lab, "backup", "verify", archive.name)
    assert code == 1 and "FAILED" in output


def test_errors_are_one_line_and_a_fix(lab: Lab) -> None:
    code, output = invoke(lab, "backup", "verify")
    assert code == 1
    assert "there is no backup in" in output and "fix: run `mediastack backup`" in output


def test_restore_without_rendered_stacks_only_swaps_folders(lab: Lab) -> None:
    invoke(lab, "backup")
    (archive,) = lab.archives()
    (lab.config / "sonarr" / "config.xml").write_text("changed")
    code, output = invoke(lab, "restore", archive.name, "--only", "sonarr", "--dry-run")
    assert code == 0 and "would restore sonarr" in output
    assert (lab.config / "sonarr" / "config.xml").read_text() == "changed"
    code, output = invoke(lab, "restore", str(archive), "--only", "sonarr", "--format", "json")
    assert code == 0, output
    assert json.loads(output)["apps"] == ["sonarr"]
    assert "<ApiKey>sonarr</ApiKey>" in (lab.config / "sonarr" / "config.xml").read_text()
