"""The executor runs real (tiny) subprocesses here: sh and a missing binary, no Docker."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from mediastack.adapters import executor as executor_module
from mediastack.adapters.errors import CommandError, CommandTimeoutError, ToolMissingError, mask
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
    assert "did not finish in 0.3 s; its processes were killed" in str(caught.value)


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


# -- bounded calls: the whole process group ends ---------------------------------------------

TREE = "sleep 1000 & echo $! > {pids}; echo $$ >> {pids}; sleep 1000"
"""A child tree: sh, a background sleep (a grandchild) and a foreground one; sh writes the
pids of the background sleep and of itself."""


def alive(pid: int) -> bool:
    """Return True while ``pid`` runs (a zombie no reaper collected yet counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def ended(pids: list[int]) -> bool:
    """Wait (a few seconds at most) for every pid to end; return whether they all did."""
    for _ in range(100):
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def tree_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def test_a_run_past_its_timeout_ends_the_whole_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    with pytest.raises(CommandTimeoutError) as caught:
        executor.run(["sh", "-c", TREE.format(pids=pids)], timeout=0.5)
    assert "did not finish in 0.5 s; its processes were killed" in str(caught.value)
    assert ended(tree_pids(pids))


def test_a_stream_past_its_time_ends_the_whole_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    bounded = SubprocessExecutor(stream_timeout_seconds=0.5)
    with pytest.raises(CommandTimeoutError) as caught:
        bounded.stream(["sh", "-c", TREE.format(pids=pids)])
    assert caught.value.exit_code == TIMEOUT_EXIT_CODE
    assert "did not finish in 0.5 s" in str(caught.value)
    assert ended(tree_pids(pids))


def test_a_tree_that_ignores_sigterm_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor_module, "KILL_GRACE_SECONDS", 0.2)
    pids = tmp_path / "pids"
    stubborn = "trap '' TERM; " + TREE.format(pids=pids)
    with pytest.raises(CommandTimeoutError):
        SubprocessExecutor(stream_timeout_seconds=0.5).stream(["sh", "-c", stubborn])
    assert ended(tree_pids(pids))


def test_a_deadline_set_while_a_command_runs_ends_it(tmp_path: Path) -> None:
    """A job's stop sets the deadline after the command started (the update's pull)."""
    pids = tmp_path / "pids"
    deadline: list[float] = []
    stopping = SubprocessExecutor(deadline=lambda: deadline[0] if deadline else None)

    def set_deadline_soon() -> None:
        while not pids.exists():
            time.sleep(0.02)
        deadline.append(time.monotonic() + 0.2)

    import threading

    threading.Thread(target=set_deadline_soon, daemon=True).start()
    with pytest.raises(CommandTimeoutError, match="was stopped"):
        stopping.run(["sh", "-c", TREE.format(pids=pids)], timeout=None)
    assert ended(tree_pids(pids))


def test_a_bounded_stream_that_finishes_returns_its_exit_code() -> None:
    bounded = SubprocessExecutor(stream_timeout_seconds=30)
    assert bounded.stream([sys.executable, "-c", "raise SystemExit(7)"]) == 7
