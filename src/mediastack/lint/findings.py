"""What lint reports: findings with a rule id, a severity, where, what is wrong and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from mediastack.lint.model import ComposeProject


class Severity(StrEnum):
    """An error fails ``mediastack lint`` (exit 1); a warning is printed only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Violation:
    """What a rule body yields; the rule table adds the rule id, severity and stack, so those
    are written once, in the table, and cannot drift. ``service`` is None for the whole file."""

    service: str | None
    message: str
    fix: str


@dataclass(frozen=True)
class Finding:
    """One problem in one compose project."""

    rule_id: str
    severity: Severity
    stack: str
    service: str | None
    message: str
    fix: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            key: str(value) if value is not None else None for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class LintReport:
    """Every finding over the linted projects, errors first within each project."""

    projects: tuple[ComposeProject, ...]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.WARNING)

    @property
    def failed(self) -> bool:
        """Return True when any finding is an error."""
        return self.errors > 0

    def as_dict(self) -> dict[str, object]:
        """Return the JSON shape: ``{"findings": [...], "errors": N, "warnings": M}``."""
        return {
            "findings": [finding.as_dict() for finding in self.findings],
            "errors": self.errors,
            "warnings": self.warnings,
        }
