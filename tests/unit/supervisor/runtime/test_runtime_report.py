"""What `mediastack status` and `supervise --resume` read from the state file, and the
notices as push notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.fakes import FakeEngine
from mediastack.cli import stack_commands, supervise_command
from mediastack.cli.common import CliState
from mediastack.config import load_config
from mediastack.config.schema import Supervisor
from mediastack.render import compose_text, render_stacks
from mediastack.supervisor.actions import (
    FinishedCascade,
    Gluetun,
    Notify,
    Outcome,
    Priority,
    Stage,
)
from mediastack.supervisor.cascade import CascadeSnapshot, Mode
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import LimiterState
from mediastack.supervisor.runtime.instance import (
    AlreadyRunningError,
    is_running,
    lock_state_file,
)
from mediastack.supervisor.runtime.notices import notification_for, notification_urls
from mediastack.supervisor.runtime.report import read_report
from mediastack.supervisor.state import SupervisorStore

runner = CliRunner()
GLUETUN_ID = "ab" * 32


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "mediastack.yaml"
    path.write_text("name: home\n")
    return path


def state_path(config_path: Path) -> Path:
    return config_path.parent / ".mediastack" / "supervisor.db"


def save_state(path: Path, clock: FakeClock, paused: bool) -> None:
    now = clock.now()
    pause = now + timedelta(minutes=30) if paused else None
    gluetun = Gluetun(GLUETUN_ID, now - timedelta(minutes=5))
    finished = FinishedCascade(
        gluetun, now - timedelta(seconds=10), now, Outcome.HEALED, ("sonarr",), ()
    )
    with SupervisorStore(path) as store:
        store.save(CascadeSnapshot(LimiterState((now,), pause), None, gluetun), [finished])


def invoke(config_path: Path, *arguments: str) -> tuple[int, str]:
    app = typer.Typer()

    @app.callback()
    def main(context: typer.Context, config: Path = typer.Option(..., "-c")) -> None:
        context.obj = CliState(config_path=config)

    supervise_command.register(app)
    stack_commands.register(app)
    result = runner.invoke(app, ["-c", str(config_path), *arguments])
    return result.exit_code, result.stdout + result.stderr


def test_a_missing_state_file_means_never_ran_and_is_not_created(tmp_path: Path) -> None:
    report = read_report(tmp_path / "none.db", Supervisor(), FakeClock().now())
    assert report.mode is None
    assert report.describe() == "never ran (no state file)"
    assert not (tmp_path / "none.db").exists()


def test_a_paused_supervisor_reports_until_when_and_its_last_cascades(
    tmp_path: Path, clock: FakeClock
) -> None:
    save_state(tmp_path / "state.db", clock, paused=True)
    report = read_report(tmp_path / "state.db", Supervisor(), clock.now())
    assert report.mode is Mode.PAUSED
    assert report.describe().startswith("paused until 2026-01-01 12:30:00 UTC")
    (entry,) = report.to_json()["recent_cascades"]
    assert entry["outcome"] == "healed"
    assert entry["duration_seconds"] == 10.0


def test_resume_without_state_fails_clearly(config_path: Path) -> None:
    code, output = invoke(config_path, "supervise", "--resume")
    assert code == 1
    assert "never ran" in output


def test_resume_when_not_paused_changes_nothing(config_path: Path, clock: FakeClock) -> None:
    save_state(state_path(config_path), clock, paused=False)
    code, output = invoke(config_path, "supervise", "--resume")
    assert code == 0
    assert "not paused" in output
    with SupervisorStore(state_path(config_path)) as store:
        assert store.take_resume_request() is None


def test_resume_when_paused_leaves_a_request(config_path: Path) -> None:
    future = FakeClock(datetime(2999, 1, 1, tzinfo=UTC))  # the command reads the real clock
    save_state(state_path(config_path), future, paused=True)
    code, output = invoke(config_path, "supervise", "--resume")
    assert code == 0, output
    assert "resume requested" in output
    with SupervisorStore(state_path(config_path)) as store:
        assert store.take_resume_request() is not None


def test_status_shows_the_supervisor(
    config_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_config(config_path)
    for rendered in render_stacks(loaded):
        path = loaded.compose_file(rendered.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(compose_text(rendered, loaded.path))
    monkeypatch.setattr(DockerEngine, "connect", lambda: FakeEngine())
    save_state(state_path(config_path), clock, paused=False)
    code, output = invoke(config_path, "status", "--format", "json")
    assert code == 1  # nothing runs in the fake engine
    supervisor = json.loads(output)["supervisor"]
    assert supervisor["mode"] == "watching"
    assert supervisor["recent_cascades"][0]["healed"] == ["sonarr"]
    _, table = invoke(config_path, "status")
    assert "supervisor: watching" in table
    assert "healed in 10.0 s" in table


def test_notices_become_notifications_with_a_title_and_priority() -> None:
    notice = Notify(Stage.RATE_LIMITED, "cascades", "Restart loop.", Priority.URGENT)
    notification = notification_for(notice, "home")
    assert notification.title == "home: restart loop: cascades paused"
    assert notification.body == "Restart loop."
    assert notification.priority == 5
    assert notification.tags == ("rotating_light",)


def test_urls_come_from_the_environment_else_the_env_file(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_config(config_path)
    monkeypatch.delenv("MEDIASTACK_NOTIFY_URLS", raising=False)
    loaded.env_file.write_text("MEDIASTACK_NOTIFY_URLS=ntfy://127.0.0.1:1/a ntfy://h/b\n")
    assert notification_urls(loaded) == ("ntfy://127.0.0.1:1/a", "ntfy://h/b")
    monkeypatch.setenv("MEDIASTACK_NOTIFY_URLS", "ntfys://ntfy.sh/c")
    assert notification_urls(loaded) == ("ntfys://ntfy.sh/c",)
    monkeypatch.setenv("MEDIASTACK_NOTIFY_URLS", "CHANGE_ME_apprise")
    assert notification_urls(loaded) == ()


def test_one_supervisor_per_state_file_and_status_knows_if_it_runs(
    tmp_path: Path, clock: FakeClock
) -> None:
    state = tmp_path / "state.db"
    save_state(state, clock, paused=False)
    assert is_running(state) is None  # no supervisor ever locked it
    held = lock_state_file(state)
    try:
        assert is_running(state) is True
        with pytest.raises(AlreadyRunningError):
            lock_state_file(state)
        assert read_report(state, Supervisor(), clock.now()).describe() == "watching"
    finally:
        held.close()
    assert is_running(state) is False
    report = read_report(state, Supervisor(), clock.now())
    assert report.describe() == "not running (its last state: watching)"
    assert report.to_json()["running"] is False
