"""The README is the front door: its generated parts must match the code."""

from __future__ import annotations

from pathlib import Path

from mediastack.config.reference import reference_markdown
from mediastack.lint import RULES

README = Path(__file__).parents[2] / "README.md"


def test_config_reference_matches_the_schema() -> None:
    text = README.read_text(encoding="utf-8")
    assert reference_markdown() in text, "run ./scripts/update-readme"


def test_every_lint_rule_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| {rule.rule_id} | {rule.severity.value} |" in text, rule.rule_id


def test_the_two_setup_commands_exist() -> None:
    root = README.parent
    text = README.read_text(encoding="utf-8")
    for command in ("./scripts/install", "./scripts/test"):
        assert command in text
        assert (root / command.removeprefix("./")).stat().st_mode & 0o111
    assert "./scripts/test" in (root / ".ci" / "run").read_text(encoding="utf-8")
