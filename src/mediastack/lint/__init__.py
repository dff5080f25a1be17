"""Lint compose projects (rendered or edited by hand) for VPN leaks, broken hardlinks,
missing healthchecks and unsafe settings. Pure: reads YAML files, needs no Docker.

    report = lint_stacks_folder(Path("stacks"))
    report.failed  # True when any finding is an error
"""

from mediastack.lint.engine import lint_project, lint_projects, lint_stacks_folder
from mediastack.lint.findings import Finding, LintReport, Severity, Violation
from mediastack.lint.load import (
    COMPOSE_FILE_NAMES,
    ComposeFileError,
    find_compose_files,
    load_project,
    load_projects,
    parse_project,
)
from mediastack.lint.model import ComposeProject, Service
from mediastack.lint.registry import RULES, Rule, rule_by_id

__all__ = [
    "COMPOSE_FILE_NAMES",
    "RULES",
    "ComposeFileError",
    "ComposeProject",
    "Finding",
    "LintReport",
    "Rule",
    "Service",
    "Severity",
    "Violation",
    "find_compose_files",
    "lint_project",
    "lint_projects",
    "lint_stacks_folder",
    "load_project",
    "load_projects",
    "parse_project",
    "rule_by_id",
]
