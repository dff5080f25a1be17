"""The console script builds the app with only the command asked for: the same commands and
help, without importing every other command group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import mediastack
from mediastack.cli.app import COMMAND_MODULES, app_for, build_app, command_word

SOURCE_ROOT = Path(mediastack.__file__).resolve().parents[1]


def command_names(built: typer.Typer) -> set[str]:
    group = typer.main.get_command(built)
    assert isinstance(group, typer.core.TyperGroup)
    return set(group.commands)


def test_the_table_names_exactly_what_the_modules_register() -> None:
    whole = build_app(COMMAND_MODULES.values())
    assert command_names(whole) == set(COMMAND_MODULES)
    for word, module in COMMAND_MODULES.items():
        assert word in command_names(build_app([module]))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["backup", "list"], "backup"),
        (["-c", "up", "status"], "status"),  # a config file named "up"
        (["--config", "x.yaml", "-v"], None),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_comes_after_the_global_options(
    arguments: list[str], expected: str | None
) -> None:
    assert command_word(arguments) == expected


def test_a_known_command_gets_only_its_group_and_anything_else_every_command() -> None:
    assert command_names(app_for(["-c", "h.yaml", "backup", "list"])) == {"backup", "restore"}
    assert command_names(app_for(["--help"])) == set(COMMAND_MODULES)
    assert command_names(app_for(["bakup"])) == set(COMMAND_MODULES)  # typer suggests


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app_for(["--help"]), ["--help"])
    assert result.exit_code == 0
    for word in ("init", "backup", "restore", "up", "supervise", "update", "portsync"):
        assert word in result.output


def test_mediastack_backup_does_not_import_the_other_commands() -> None:
    code = (
        "import sys, json\n"
        "from mediastack.cli.app import app_for\n"
        "app_for(['backup', 'list'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('mediastack.cli.'))))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SOURCE_ROOT)},
        check=True,
    )
    modules = set(json.loads(completed.stdout))
    assert "mediastack.cli.backup_command" in modules
    others = {f"mediastack.cli.{module}" for module in COMMAND_MODULES.values()}
    assert modules & others == {"mediastack.cli.backup_command"}
