"""The foundation issue's acceptance, as a user runs it: a default ``init`` lints clean and every
rendered project passes the real Compose v2's ``config --quiet``; planted mistakes fail lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml


def mediastack(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediastack", *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_default_init_lints_clean_and_compose_accepts_every_project(tmp_path: Path) -> None:
    root = tmp_path / "x"
    assert mediastack("init", str(root), "--yes").returncode == 0
    linted = mediastack("-c", str(root / "mediastack.yaml"), "lint")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for stack in ("vpn", "media", "ops"):
        checked = subprocess.run(
            ["docker", "compose", "config", "--quiet"],
            cwd=root / "stacks" / stack, capture_output=True, text=True, check=False,
        )
        assert checked.returncode == 0, f"{stack}: {checked.stderr}"


def test_hand_edits_that_break_the_vpn_or_hardlinks_fail_lint(tmp_path: Path) -> None:
    root = tmp_path / "x"
    assert mediastack("init", str(root), "--yes").returncode == 0
    compose_file = root / "stacks" / "vpn" / "compose.yaml"
    document = yaml.safe_load(compose_file.read_text())
    qbittorrent = document["services"]["qbittorrent"]
    del qbittorrent["network_mode"]
    qbittorrent["ports"] = ["8080:8080"]
    document["services"]["sonarr"]["volumes"].append("/srv/downloads:/downloads")
    compose_file.write_text(yaml.safe_dump(document, sort_keys=False))
    linted = mediastack("-c", str(root / "mediastack.yaml"), "lint", "--format", "json")
    assert linted.returncode == 1
    findings = {(f["rule_id"], f["service"]): f for f in json.loads(linted.stdout)["findings"]}
    assert ("VPN001", "qbittorrent") in findings
    assert ("HLK003", "sonarr") in findings
    assert all(finding["fix"] for finding in findings.values())
