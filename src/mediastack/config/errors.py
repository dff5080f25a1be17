"""Config problems: every one at once, each with its key path, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with mediastack.yaml."""

    path: str  # dotted key path, e.g. services.sonarr.tag; "" for the whole file
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "fix": self.fix}


class ConfigError(Exception):
    """The config file cannot be used; carries every problem found."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s)"]
        lines += [f"  {p.path or '<file>'}: {p.message} (fix: {p.fix})" for p in problems]
        super().__init__("\n".join(lines))
