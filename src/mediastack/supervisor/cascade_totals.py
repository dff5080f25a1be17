"""Running totals of finished cascades: how many by outcome, and their durations in buckets.

Why kept apart from the history: the history keeps the last ``HISTORY_KEPT`` cascades only, so
counts taken from it would shrink as old rows go, and a Prometheus counter must never go down.
The totals are added to in the same transaction that appends to the history; a state file
written before they existed starts from what its history holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mediastack.supervisor.actions import FinishedCascade, Outcome

DURATION_BUCKETS_SECONDS: tuple[float, ...] = (10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Upper bounds of the duration histogram. A healthy cascade takes ~10 s (gluetun healthy, then
the dependents recreated); the wait for gluetun is bounded at 300 s by default."""


@dataclass(frozen=True)
class CascadeTotals:
    """Every cascade finished since the state file began. ``cumulative_buckets[i]`` counts the
    cascades that took at most ``bounds[i]`` seconds (Prometheus' ``le`` buckets)."""

    by_outcome: Mapping[str, int] = field(default_factory=dict)
    cumulative_buckets: tuple[int, ...] = (0,) * len(DURATION_BUCKETS_SECONDS)
    duration_sum_seconds: float = 0.0
    count: int = 0
    bounds: tuple[float, ...] = DURATION_BUCKETS_SECONDS

    def add(self, finished: FinishedCascade) -> CascadeTotals:
        """Return these totals with ``finished`` counted."""
        seconds = max(0.0, finished.duration.total_seconds())
        outcome = finished.outcome.value
        return CascadeTotals(
            {**self.by_outcome, outcome: self.by_outcome.get(outcome, 0) + 1},
            tuple(
                count + (1 if seconds <= bound else 0)
                for count, bound in zip(self.cumulative_buckets, self.bounds, strict=True)
            ),
            self.duration_sum_seconds + seconds,
            self.count + 1,
            self.bounds,
        )

    def outcome_counts(self) -> dict[str, int]:
        """Return the count of every outcome, zero for those never seen (a counter that
        appears only after its first event hides the first increase from ``rate()``)."""
        return {outcome.value: self.by_outcome.get(outcome.value, 0) for outcome in Outcome}

    def to_json(self) -> dict[str, Any]:
        """Return the totals as stored in the state file."""
        return {
            "by_outcome": dict(self.by_outcome),
            "cumulative_buckets": list(self.cumulative_buckets),
            "duration_sum_seconds": self.duration_sum_seconds,
            "count": self.count,
            "bounds": list(self.bounds),
        }


def totals_from_json(value: Mapping[str, Any]) -> CascadeTotals | None:
    """Return the stored totals, or None when they do not fit this version's buckets (then the
    caller starts again from the history)."""
    try:
        bounds = tuple(float(bound) for bound in value["bounds"])
        totals = CascadeTotals(
            {str(key): int(count) for key, count in value["by_outcome"].items()},
            tuple(int(count) for count in value["cumulative_buckets"]),
            float(value["duration_sum_seconds"]),
            int(value["count"]),
            bounds,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if bounds != DURATION_BUCKETS_SECONDS or len(totals.cumulative_buckets) != len(bounds):
        return None
    return totals


def tally(history: Iterable[FinishedCascade]) -> CascadeTotals:
    """Return the totals of the cascades in ``history``."""
    totals = CascadeTotals()
    for finished in history:
        totals = totals.add(finished)
    return totals
