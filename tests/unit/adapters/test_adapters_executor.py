"""The executor runs real (tiny) subprocesses here: sh and a missing binary, no Docker."""

from __future__ import annotations

import sys

import pytest

from mediastack.adapters.errors import CommandError, ToolMissingError, mask
from mediastack.adapters.executor import (
    TIMEOUT_EXIT_CODE,
    DryRunExecutor,
    SubprocessExecutor,
    exit_code_of,
    install_fix,
)

executor = SubprocessExecutor()


def test_run_returns_output_and_exit_code() -> None:
    result = executor.run(["sh", "-c", "echo out; echo err >&2"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.arguments == ("sh", "-c", "echo out; echo err >&2")
    assert result.succeeded


def test_non_zero_exit_raises_command_error_with_output() -> None:
    with pytest.raises(CommandError) as caught:
        executor.run(["sh", "-c", "echo partial; echo broken >&2; exit 3"])
    error = caught.value
    assert error.exit_code == 3
    assert error.command == ("sh", "-c", "echo partial; echo broken >&2; exit 3")
    assert error.output == "broken\npartial"  # stderr first
    assert "exited 3" in str(error)


def test_secrets_are_masked_in_command_and_output() -> None:
    with pytest.raises(CommandError) as caught:
        executor.run(["sh", "-c", "echo token=hunter2; exit 1", "hunter2"], secrets=["hunter2"])
    error = caught.value
    assert "hunter2" not in " ".join(error.command)
    assert "hunter2" not in error.output
    assert "hunter2" not in str(error)
    assert error.output == "token=***"


def test_unchecked_failure_returns_the_result_unmasked() -> None:
    result = executor.run(["sh", "-c", "echo s3cret; exit 4"], secrets=["s3cret"], check=False)
    assert (result.exit_code, result.stdout) == (4, "s3cret\n")


def test_input_is_passed_on_stdin() -> None:
    assert executor.run(["cat"], input="hello").stdout == "hello"


def test_missing_binary_raises_tool_missing_with_a_fix() -> None:
    with pytest.raises(ToolMissingError) as caught:
        executor.run(["mediastack-no-such-tool", "--flag"])
    assert caught.value.tool == "mediastack-no-such-tool"
    assert caught.value.fix == "install mediastack-no-such-tool and make sure it is on PATH"
    assert isinstance(caught.value, CommandError)


def test_docker_has_a_known_install_fix() -> None:
    assert "docker.io" in install_fix("docker")


def test_timeout_is_a_command_error() -> None:
    with pytest.raises(CommandError) as caught:
        executor.run(["sh", "-c", "echo started; sleep 5"], timeout=0.3)
    assert caught.value.exit_code == TIMEOUT_EXIT_CODE
    assert "timed out after 0.3 s" in str(caught.value)


def test_stream_returns_the_exit_code() -> None:
    assert executor.stream([sys.executable, "-c", "raise SystemExit(7)"]) == 7


def test_stream_of_a_missing_binary_raises_tool_missing() -> None:
    with pytest.raises(ToolMissingError):
        executor.stream(["mediastack-no-such-tool"])


def test_signal_exit_codes_are_shell_style() -> None:
    assert exit_code_of(-2) == 130
    assert exit_code_of(5) == 5


def test_mask_prefers_the_longest_secret_and_ignores_empty_ones() -> None:
    assert mask("abc abcdef", ["abc", "abcdef", ""]) == "*** ***"


def test_dry_run_prints_masked_quoted_commands_and_runs_nothing() -> None:
    printed: list[str] = []
    dry = DryRunExecutor(printed.append)
    result = dry.run(["docker", "login", "--password", "p@ss word"], secrets=["p@ss word"])
    assert dry.stream(["sh", "-c", "exit 9"]) == 0
    assert result.exit_code == 0
    assert printed == ["docker login --password '***'", "sh -c 'exit 9'"]
