"""The stack commands through typer, with the executor and the engine replaced by fakes: the
app, the invoker and the wiring the ``wiring`` fixture (conftest.py) installs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import typer
from typer.testing import CliRunner

from mediastack.adapters.errors import EngineUnreachableError
from mediastack.adapters.fakes import FakeEngine, FakeImages, RecordingExecutor
from mediastack.cli import stack_commands
from mediastack.cli.common import CliState
from mediastack.config import LoadedConfig
from mediastack.links.link import LinkStatus, ServiceRunner
from mediastack.links.reconcile import Progress
from mediastack.links.report import LinkState, WireReport
from mediastack.links.run import WireOptions

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(context: typer.Context, config: Path = typer.Option(..., "-c")) -> None:
        context.obj = CliState(config_path=config)

    stack_commands.register(app)
    return app


@dataclass
class FakeWire:
    """``links.run.wire`` as the stack commands call it: records each call (its options and
    how many commands compose had run by then), reports ``links`` through ``progress``."""

    executor: RecordingExecutor
    links: tuple[LinkState, ...] = (
        LinkState("sonarr", "sonarr:client", "qBittorrent download client", LinkStatus.MADE),
    )
    reads: int = 3
    calls: list[tuple[WireOptions, int]] = field(default_factory=list)

    def __call__(
        self,
        loaded: LoadedConfig,
        secrets: Mapping[str, str],
        options: WireOptions,
        runner: ServiceRunner | None = None,
        progress: Progress | None = None,
    ) -> WireReport:
        self.calls.append((options, len(self.executor.commands)))
        for state in self.links:
            if progress is not None:
                progress(state)
        return WireReport(self.links, (), self.reads, options.dry_run)


class Wiring:
    """What the commands get instead of a subprocess executor and a Docker engine."""

    def __init__(self, executor: RecordingExecutor, engine: FakeEngine | None) -> None:
        self.executor = executor
        self.missing_images: set[str] = set()
        self.engine = engine
        self.connections = 0
        self.wire = FakeWire(executor)

    @property
    def images(self) -> FakeImages:
        """The image store of the current engine (a FakeEngine is needed to have one)."""
        assert self.engine is not None
        return FakeImages(self.engine, self.missing_images)

    def connect(self) -> FakeEngine:
        self.connections += 1
        if self.engine is None:
            raise EngineUnreachableError("no socket at unix:///nowhere.sock")
        return self.engine


def invoke(loaded: LoadedConfig, *arguments: str) -> tuple[int, str, str]:
    result = runner.invoke(make_app(), ["-c", str(loaded.path), *arguments])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.stdout, result.stderr
