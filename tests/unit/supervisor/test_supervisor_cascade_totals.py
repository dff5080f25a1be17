"""Cascade totals in the state file: they only grow, even as the history forgets old rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from supervisor_helpers import GLUETUN_ID

from mediastack.supervisor import state
from mediastack.supervisor.actions import FinishedCascade, Gluetun, Outcome
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import LimiterState
from mediastack.supervisor.state import SupervisorStore


def finished(clock: FakeClock, outcome: Outcome, seconds: float) -> FinishedCascade:
    now = clock.advance(600)
    gluetun = Gluetun(GLUETUN_ID, now - timedelta(seconds=seconds))
    return FinishedCascade(gluetun, now - timedelta(seconds=seconds), now, outcome, (), ())


def save(store: SupervisorStore, cascade: FinishedCascade) -> None:
    store.save(CascadeSnapshot(LimiterState(), None, None), [cascade])


def test_totals_keep_counting_after_the_history_dropped_old_cascades(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "HISTORY_KEPT", 2)
    with SupervisorStore(tmp_path / "state.db") as store:
        for outcome in (Outcome.HEALED, Outcome.HEALED, Outcome.FAILED, Outcome.HEALED):
            save(store, finished(clock, outcome, 12))
        totals = store.cascade_totals()
        kept = store.history(10)

    assert len(kept) == 2
    assert totals.count == 4
    assert totals.outcome_counts()["healed"] == 3
    assert totals.outcome_counts()["failed"] == 1
    assert totals.duration_sum_seconds == 48


def test_a_state_file_from_before_the_totals_starts_from_its_history(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "state.db"
    with SupervisorStore(path) as store:
        save(store, finished(clock, Outcome.HEALED, 5))
        save(store, finished(clock, Outcome.PARTIAL, 50))
        store._connection.execute("DELETE FROM meta WHERE key = 'cascade_totals'")  # older file
        before = store.cascade_totals()
        save(store, finished(clock, Outcome.HEALED, 700))
        after = store.cascade_totals()

    assert before.count == 2 and before.cumulative_buckets[0] == 1
    assert after.count == 3
    assert after.outcome_counts()["healed"] == 2
    assert after.cumulative_buckets[-1] == 2  # 700 s is beyond the last bound: +Inf only


def test_read_only_opens_no_missing_file(tmp_path: Path) -> None:
    import sqlite3

    with pytest.raises(sqlite3.OperationalError):
        SupervisorStore(tmp_path / "absent.db", read_only=True)
    assert not (tmp_path / "absent.db").exists()
