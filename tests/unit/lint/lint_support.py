"""Helpers for the lint tests: a real config rendered into a folder, edits that plant a
misconfiguration in a rendered compose file the way a person would, and report queries.

Imported by name (``from lint_support import ...``): pytest puts this folder on sys.path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mediastack.config import load_config
from mediastack.lint import LintReport, lint_stacks_folder
from mediastack.render import render_to_disk

FIXTURES = Path(__file__).parents[2] / "fixtures" / "compose"
SECRETS = {
    "GLUETUN_API_KEY": "gluetun-api-key-for-tests",
    "WIREGUARD_PRIVATE_KEY": "wireguard-private-key-for-tests",
    "WIREGUARD_ADDRESSES": "10.2.0.2/32",
    "SONARR_API_KEY": "sonarr-api-key-for-tests",
    "RADARR_API_KEY": "radarr-api-key-for-tests",
    "PROWLARR_API_KEY": "prowlarr-api-key-for-tests",
    "SEERR_API_KEY": "seerr-api-key-for-tests",
}
LOCAL_ONLY = "network: {bind_address: 127.0.0.1}\n"

ServiceEdit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RenderedTree:
    """A config rendered to disk: mediastack.yaml, .env and stacks/{vpn,media,ops}."""

    config_path: Path

    @property
    def stacks(self) -> Path:
        return self.config_path.parent / "stacks"

    def compose_path(self, stack: str) -> Path:
        return self.stacks / stack / "compose.yaml"

    def document(self, stack: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.compose_path(stack).read_text())
        return loaded

    def write(self, stack: str, document: dict[str, Any]) -> None:
        self.compose_path(stack).write_text(yaml.safe_dump(document, sort_keys=False))

    def edit(self, stack: str, service: str, change: ServiceEdit) -> None:
        """Apply ``change`` to one service's mapping in the stack's compose file on disk."""
        document = self.document(stack)
        change(document["services"][service])
        self.write(stack, document)

    def lint(self) -> LintReport:
        return lint_stacks_folder(self.stacks)


def render_tree(folder: Path, config_text: str) -> RenderedTree:
    """Write ``config_text`` as mediastack.yaml plus a complete .env into ``folder``, render
    it with the real renderer, and return the tree."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "mediastack.yaml"
    config_path.write_text(config_text)
    (folder / ".env").write_text("".join(f"{key}={value}\n" for key, value in SECRETS.items()))
    render_to_disk(load_config(config_path))
    return RenderedTree(config_path)


def rule_hits(report: LintReport, rule_id: str) -> list[str | None]:
    """Return the services ``rule_id`` fired for, in report order."""
    return [finding.service for finding in report.findings if finding.rule_id == rule_id]


def rule_ids(report: LintReport) -> set[str]:
    """Return the ids of every rule that fired."""
    return {finding.rule_id for finding in report.findings}
