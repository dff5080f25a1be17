"""Suite-wide test setup: the `engine` marker and the `docker_engine` fixture.

Every test under tests/integration is marked `engine` (it needs a real Docker engine and
Compose v2). Without an engine those tests skip with the reason; with
MEDIASTACK_REQUIRE_ENGINE=1 (set by scripts/test, so in CI) an unreachable engine fails them,
and any engine test that skips for another reason fails too: a skipped engine test fails CI.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator
from pathlib import Path
from typing import NamedTuple

import pytest

REQUIRE_ENGINE_VARIABLE = "MEDIASTACK_REQUIRE_ENGINE"
INTEGRATION_DIRECTORY = Path(__file__).parent / "integration"


class DockerEngine(NamedTuple):
    """What `docker_engine` found: the engine's and Compose's versions."""

    server_version: str
    compose_version: str


def engine_required() -> bool:
    """Return True when engine tests must run (MEDIASTACK_REQUIRE_ENGINE=1)."""
    return os.environ.get(REQUIRE_ENGINE_VARIABLE) == "1"


def _is_integration(path: Path) -> bool:
    return path.is_relative_to(INTEGRATION_DIRECTORY)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_integration(item.path):
            item.add_marker(pytest.mark.engine)


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _refusal(reason: str) -> str:
    return (
        f"{REQUIRE_ENGINE_VARIABLE}=1: an engine test may not skip "
        f"(a skipped engine test fails CI). It skipped with: {reason}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.skipped
        and engine_required()
        and item.get_closest_marker("engine") is not None
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = _refusal(_skip_reason(report.longrepr))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped and engine_required() and _is_integration(collector.path):
        report.outcome = "failed"
        report.longrepr = _refusal(_skip_reason(report.longrepr))
    return report


def _run(*command: str) -> str:
    """Run ``command``; return its stripped stdout; raise RuntimeError with its output when it
    cannot run or fails."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"`{' '.join(command)}` could not run: {error}") from error
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise RuntimeError(f"`{' '.join(command)}` exited {completed.returncode}: {output}")
    return completed.stdout.strip()


@pytest.fixture(scope="session")
def docker_engine() -> DockerEngine:
    """Return the reachable engine's versions; skip when there is none (fail instead under
    MEDIASTACK_REQUIRE_ENGINE=1)."""
    try:
        server_version = _run("docker", "info", "--format", "{{.ServerVersion}}")
        compose_version = _run("docker", "compose", "version", "--short")
    except RuntimeError as error:
        problem = str(error)
    else:
        return DockerEngine(server_version, compose_version)
    if engine_required():
        pytest.fail(
            f"no usable Docker engine / Compose v2, and {REQUIRE_ENGINE_VARIABLE}=1: {problem}",
            pytrace=False,
        )
    pytest.skip(f"no usable Docker engine / Compose v2 (scripts/test sets one up): {problem}")
