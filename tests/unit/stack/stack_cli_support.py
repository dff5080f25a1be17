"""The stack commands through typer, with the executor and the engine replaced by fakes: the
app, the invoker and the wiring the ``wiring`` fixture (conftest.py) installs."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from mediastack.adapters.errors import EngineUnreachableError
from mediastack.adapters.fakes import FakeEngine, FakeImages, RecordingExecutor
from mediastack.cli import stack_commands
from mediastack.cli.common import CliState
from mediastack.config import LoadedConfig

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(context: typer.Context, config: Path = typer.Option(..., "-c")) -> None:
        context.obj = CliState(config_path=config)

    stack_commands.register(app)
    return app


class Wiring:
    """What the commands get instead of a subprocess executor and a Docker engine."""

    def __init__(self, executor: RecordingExecutor, engine: FakeEngine | None) -> None:
        self.executor = executor
        self.missing_images: set[str] = set()
        self.engine = engine
        self.connections = 0

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
