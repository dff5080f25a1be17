"""Which background jobs the config switches on, and their first scheduled times."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediastack.adapters.engine import DockerEngine
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime import job_wiring
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import LogOnlyNotifier


def loaded(text: str, tmp_path: Path) -> LoadedConfig:
    return LoadedConfig(config=parse_config(text), path=tmp_path / "mediastack.yaml")


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DockerEngine, "connect", staticmethod(lambda: object()))


def test_schedules_are_on_by_default(tmp_path: Path, clock: FakeClock) -> None:
    jobs = job_wiring.build_jobs(
        loaded("name: home\n", tmp_path), Inbox(), LogOnlyNotifier(), clock, {}
    )
    assert jobs.updates is not None and jobs.backups is not None
    assert jobs.backups.next_wakeup().isoformat() == "2026-01-02T04:30:00+00:00"
    assert jobs.next_wakeup() is not None
    update_at = jobs.updates.next_wakeup()
    assert update_at is not None and update_at.isoformat() == "2026-01-02T06:00:00+00:00"
    jobs.stop()


def test_switched_off_schedules_build_no_job(tmp_path: Path, clock: FakeClock) -> None:
    text = "name: home\nupdates:\n  scheduled: false\nbackups:\n  scheduled: false\n"
    jobs = job_wiring.build_jobs(loaded(text, tmp_path), Inbox(), LogOnlyNotifier(), clock, {})
    assert jobs.updates is None and jobs.backups is None
