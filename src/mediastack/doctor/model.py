"""What a doctor check reports: a status, a message and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """How a check came out, best first."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One host check's verdict. ``fix`` is None when there is nothing to do."""

    id: str
    title: str
    status: Status
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form: id, title, status, message, fix (null when none)."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "message": self.message,
            "fix": self.fix,
        }


def worst_status(statuses: Iterable[Status]) -> Status:
    """Return the worst of ``statuses`` (FAIL over WARN over PASS); PASS when there are none."""
    order = list(Status)
    return max(statuses, key=order.index, default=Status.PASS)


@dataclass(frozen=True)
class Summary:
    """How many checks passed, warned and failed."""

    passed: int
    warnings: int
    failed: int


def summarise(results: Sequence[CheckResult]) -> Summary:
    """Given check results, return their counts per status."""
    statuses = [result.status for result in results]
    return Summary(
        passed=statuses.count(Status.PASS),
        warnings=statuses.count(Status.WARN),
        failed=statuses.count(Status.FAIL),
    )


def report_json(results: Sequence[CheckResult]) -> dict[str, Any]:
    """Return the JSON report: ``{"checks": [...], "passed": n, "warnings": n, "failed": n}``."""
    summary = summarise(results)
    return {
        "checks": [result.as_dict() for result in results],
        "passed": summary.passed,
        "warnings": summary.warnings,
        "failed": summary.failed,
    }
