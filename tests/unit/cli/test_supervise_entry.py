"""The console script's lean path for the supervisor daemon: which arguments take it, that
everything else (``--help`` above all) reaches the typer app unchanged, and that what it
prints on a bad start is the typer command's text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mediastack
import mediastack.config
from mediastack.cli import daemon_arguments, main, supervise_daemon
from mediastack.cli.app import app
from mediastack.cli.daemon_arguments import DaemonRequest, daemon_request
from mediastack.cli.plain_output import EXIT_BAD_INPUT, EXIT_FAILED

SOURCE_ROOT = Path(mediastack.__file__).resolve().parents[1]
DEFAULT = Path("mediastack.yaml")


@pytest.mark.parametrize(
    ("arguments", "request_made"),
    [
        ("supervise", DaemonRequest(DEFAULT)),
        ("-c /h/m.yaml supervise", DaemonRequest(Path("/h/m.yaml"))),
        ("--config /h/m.yaml supervise --once", DaemonRequest(Path("/h/m.yaml"), once=True)),
        ("--config=/h/m.yaml supervise -v", DaemonRequest(Path("/h/m.yaml"), verbose=True)),
        ("-c a.yaml -c b.yaml supervise", DaemonRequest(Path("b.yaml"))),  # click: last wins
        (
            "supervise --state-file /s.db --verbose --once",
            DaemonRequest(DEFAULT, Path("/s.db"), once=True, verbose=True),
        ),
        ("supervise --state-file=/s.db", DaemonRequest(DEFAULT, Path("/s.db"))),
    ],
)
def test_the_daemon_grammar_takes_the_lean_path(
    arguments: str, request_made: DaemonRequest
) -> None:
    assert daemon_request(arguments.split(), {}) == request_made


@pytest.mark.parametrize(
    "arguments",
    [
        "",
        "--help",
        "--version",
        "status",
        "supervise --help",
        "supervise -h",
        "supervise --check",
        "supervise --resume",
        "supervise --bogus",
        "supervise extra",
        "supervise --state-file",
        "-c supervise",  # a missing value: click's error, not ours
        "-c",
        "--config= supervise",
        "-cfile.yaml supervise",  # click accepts this; left to it rather than guessed here
        "supervise -c x.yaml",  # a global option after the command: click's error
        "supervise -vv",
        "supervise --",
    ],
)
def test_everything_else_goes_to_the_typer_app(arguments: str) -> None:
    assert daemon_request(arguments.split(), {}) is None


def test_the_config_comes_from_the_option_then_the_environment_then_the_default() -> None:
    variable = daemon_arguments.CONFIG_ENVIRONMENT_VARIABLE
    assert daemon_request(["supervise"], {variable: "/env.yaml"}) == DaemonRequest(
        Path("/env.yaml")
    )
    assert daemon_request(["-c", "/o.yaml", "supervise"], {variable: "/env.yaml"}) == (
        DaemonRequest(Path("/o.yaml"))
    )
    assert daemon_request(["supervise"], {variable: ""}) == DaemonRequest(DEFAULT)  # as click


def test_the_names_are_the_configs_own() -> None:
    assert daemon_arguments.CONFIG_ENVIRONMENT_VARIABLE == (
        mediastack.config.CONFIG_ENVIRONMENT_VARIABLE
    )
    assert daemon_arguments.DEFAULT_CONFIG_NAME == mediastack.config.DEFAULT_CONFIG_NAME


def test_run_starts_the_daemon_without_the_typer_app(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[DaemonRequest] = []

    def fake_main(request: DaemonRequest) -> int:
        started.append(request)
        return 0

    monkeypatch.setattr(supervise_daemon, "main", fake_main)
    monkeypatch.setattr(sys, "argv", ["mediastack", "-c", "/h/m.yaml", "supervise", "--once"])
    with pytest.raises(SystemExit) as exited:
        main.run()
    assert exited.value.code == 0
    assert started == [DaemonRequest(Path("/h/m.yaml"), once=True)]


def run_entry(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m mediastack ARGUMENTS`` in a fresh interpreter."""
    environment = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT), "COLUMNS": "100"}
    environment.pop(daemon_arguments.CONFIG_ENVIRONMENT_VARIABLE, None)
    return subprocess.run(
        [sys.executable, "-m", "mediastack", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=environment,
        check=False,
    )


def test_supervise_help_is_the_typer_commands(tmp_path: Path) -> None:
    shown = run_entry("supervise", "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Watch the Docker events and heal" in shown.stdout
    for option in ("--resume", "--once", "--check", "--state-file", "--verbose"):
        assert option in shown.stdout
    assert "Usage: python -m mediastack supervise [OPTIONS]" in shown.stdout


def test_a_bad_config_is_reported_as_the_typer_command_reports_it(tmp_path: Path) -> None:
    (tmp_path / "mediastack.yaml").write_text("name: home\nbogus: 1\n")
    lean = run_entry("supervise", cwd=tmp_path)
    assert lean.returncode == EXIT_BAD_INPUT
    assert lean.stderr.splitlines()[:2] == [
        "error: mediastack.yaml has 1 problem(s):",
        "  bogus: Extra inputs are not permitted",
    ]
    typer_path = CliRunner().invoke(app, ["-c", str(tmp_path / "mediastack.yaml"), "supervise"])
    assert typer_path.exit_code == EXIT_BAD_INPUT
    assert "bogus: Extra inputs are not permitted" in typer_path.output


def test_a_start_failure_prints_the_message_and_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mediastack.yaml").write_text("name: home\n")

    def refuse(*arguments: object, **options: object) -> None:
        failure = supervise_daemon.Failure("no socket at unix:///nowhere", "start the engine")
        raise supervise_daemon.StartFailed(failure)

    monkeypatch.setattr(supervise_daemon, "supervise", refuse)
    code = supervise_daemon.main(DaemonRequest(tmp_path / "mediastack.yaml"))
    assert code == EXIT_FAILED
    assert capsys.readouterr().err.splitlines() == [
        "error: no socket at unix:///nowhere",
        "  fix: start the engine",
    ]
