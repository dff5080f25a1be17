"""Run the rule table over compose projects and collect one report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mediastack.lint.findings import Finding, LintReport, Severity
from mediastack.lint.load import load_projects
from mediastack.lint.model import ComposeProject
from mediastack.lint.registry import RULES, Rule


def lint_project(project: ComposeProject, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Given one project, return its findings: errors first, then warnings; within each, in
    rule-table order, then in the order the rule met them (file order)."""
    findings = [finding for rule in rules for finding in rule.findings(project)]
    return sorted(findings, key=lambda finding: finding.severity != Severity.ERROR)


def lint_projects(projects: Sequence[ComposeProject], rules: Sequence[Rule] = RULES) -> LintReport:
    """Given projects, return the report of every rule over every project, in project order."""
    findings = [finding for project in projects for finding in lint_project(project, rules)]
    return LintReport(projects=tuple(projects), findings=tuple(findings))


def lint_stacks_folder(stacks_folder: Path, rules: Sequence[Rule] = RULES) -> LintReport:
    """Lint every compose project under ``stacks_folder``; raise ComposeFileError when a file
    cannot be read or parsed (an empty folder gives an empty report)."""
    return lint_projects(load_projects(stacks_folder), rules)
