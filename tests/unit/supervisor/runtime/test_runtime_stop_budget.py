"""A supervisor stop fits its grace period: the budgets of its parts (``stop_budget``) add up
to less than the rendered ``stop_grace_period``, with a margin, and a stop signals every job
at once rather than one after the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mediastack.catalogue.services import CATALOGUE
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.render.compose import render_service
from mediastack.supervisor.runtime import stop_budget
from mediastack.supervisor.runtime.jobs import SupervisorJobs


def rendered_grace_seconds(tmp_path: Path) -> float:
    loaded = LoadedConfig(parse_config("name: home\n"), tmp_path / "mediastack.yaml")
    period = str(render_service(loaded, CATALOGUE["supervisor"])["stop_grace_period"])
    assert period.endswith("s")
    return float(period.removesuffix("s"))


def test_the_stop_budgets_fit_the_rendered_grace_period_with_a_margin(tmp_path: Path) -> None:
    grace = rendered_grace_seconds(tmp_path)
    assert grace == stop_budget.STOP_GRACE_SECONDS
    total = sum(stop_budget.STOP_BUDGET.values())
    assert total + stop_budget.STOP_MARGIN_SECONDS <= grace


def test_an_update_finishing_or_rolling_back_fits_the_jobs_budget() -> None:
    update = stop_budget.UPDATE_FINISH_SECONDS + stop_budget.UPDATE_ROLLBACK_SECONDS
    assert update < stop_budget.JOBS_STOP_SECONDS


def test_the_compose_budget_covers_a_bounded_call_and_its_kill() -> None:
    from mediastack.adapters.executor import KILL_GRACE_SECONDS

    needed = stop_budget.COMPOSE_CALL_SECONDS + KILL_GRACE_SECONDS
    assert needed <= stop_budget.COMPOSE_FINISH_SECONDS


@dataclass
class RecordingRunner:
    name: str
    log: list[str]
    budgets: list[float] = field(default_factory=list)

    def interrupt(self) -> None:
        self.log.append(f"signal {self.name}")

    def stop(self, timeout: float) -> None:
        self.log.append(f"wait {self.name}")
        self.budgets.append(timeout)


def test_a_stop_signals_every_job_before_waiting_for_any() -> None:
    log: list[str] = []
    runners = {name: RecordingRunner(name, log) for name in ("portsync", "updates", "backups")}
    jobs = SupervisorJobs(
        portsync=runners["portsync"],  # type: ignore[arg-type]
        updates=runners["updates"],  # type: ignore[arg-type]
        backups=runners["backups"],  # type: ignore[arg-type]
    )
    jobs.stop(80.0)
    assert log[:3] == ["signal portsync", "signal updates", "signal backups"]
    assert log[3:] == ["wait portsync", "wait updates", "wait backups"]
    # one shared budget, not one each
    assert all(budget <= 80.0 for runner in runners.values() for budget in runner.budgets)
