"""``mediastack lint``: check the compose projects on disk (rendered or edited by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from mediastack.catalogue import Stack
from mediastack.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    fail,
    load_or_exit,
    print_json,
)
from mediastack.config import LoadedConfig
from mediastack.lint import (
    COMPOSE_FILE_NAMES,
    RULES,
    ComposeFileError,
    Finding,
    LintReport,
    Severity,
    lint_stacks_folder,
)

STACKS_DIR_OPTION = typer.Option(
    None,
    "--stacks-dir",
    help="Lint the compose files under this folder instead of the config's stacks folder "
    "(no config needed).",
    file_okay=False,
)
LIST_RULES_OPTION = typer.Option(False, "--list-rules", help="Print every rule and exit.")
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


def register(app: typer.Typer) -> None:
    """Add the ``lint`` command to ``app``."""
    app.command("lint")(lint)


def lint(
    context: typer.Context,
    output: OutputFormat = FORMAT_OPTION,
    stacks_dir: Path | None = STACKS_DIR_OPTION,
    list_rules: bool = LIST_RULES_OPTION,
) -> None:
    """Check every compose file under the stacks folder (rendered or edited by hand) for VPN
    leaks, broken hardlinks, missing healthchecks and unsafe settings.

    Exit 1 when any finding is an error (warnings print but pass), 2 when the config or a
    compose file cannot be read.

    Example: mediastack lint --format json
    """
    if list_rules:
        print_rules(output)
        return
    report = _lint_or_exit(_stacks_folder(context, stacks_dir))
    if output == OutputFormat.JSON:
        print_json(report.as_dict())
    else:
        print_report(report)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _stacks_folder(context: typer.Context, stacks_dir: Path | None) -> Path:
    """Return the folder to lint: ``--stacks-dir``, or the config's stacks folder after
    checking that every stack the config enables has been rendered (exit 2 otherwise)."""
    if stacks_dir is not None:
        if not stacks_dir.is_dir():
            fail(
                f"{stacks_dir} is not a folder",
                "pass the folder holding the stack folders (vpn/, media/, ops/)",
                code=EXIT_BAD_INPUT,
            )
        return stacks_dir
    loaded = load_or_exit(context)
    missing = list(unrendered_stacks(loaded))
    if missing:
        fail(
            f"no compose file for stack(s) {', '.join(missing)} under {loaded.stacks_folder}",
            "run `mediastack render`",
            code=EXIT_BAD_INPUT,
        )
    return loaded.stacks_folder


def unrendered_stacks(loaded: LoadedConfig) -> Iterator[str]:
    """Yield the stacks that have enabled services but no compose file on disk."""
    for stack in Stack:
        folder = loaded.compose_file(stack).parent
        has_file = any((folder / name).is_file() for name in COMPOSE_FILE_NAMES)
        if loaded.enabled_services(stack) and not has_file:
            yield stack.value


def _lint_or_exit(folder: Path) -> LintReport:
    try:
        report = lint_stacks_folder(folder)
    except ComposeFileError as error:
        fail(
            f"{error.path}: {error.message}",
            "fix the file, or run `mediastack render` to write it again",
            code=EXIT_BAD_INPUT,
        )
    if not report.projects:
        fail(
            f"no compose file under {folder} (looked for */{COMPOSE_FILE_NAMES[0]} and the "
            "other compose file names)",
            "run `mediastack render`, or pass --stacks-dir DIR",
            code=EXIT_BAD_INPUT,
        )
    return report


def print_report(report: LintReport) -> None:
    """Print the findings grouped by stack, then one summary line."""
    for project in report.projects:
        console.print(Text.assemble((project.stack, "bold"), f"  {project.path}"))
        findings = [finding for finding in report.findings if finding.stack == project.stack]
        for finding in findings:
            console.print(_finding_text(finding))
        if not findings:
            console.print(Text("  no findings", style="green"))
    console.print(Text(summary_line(report), style="bold red" if report.failed else "bold"))


def _finding_text(finding: Finding) -> Text:
    where = f"{finding.service}: " if finding.service else ""
    return Text.assemble(
        "  ",
        (finding.severity.value, _SEVERITY_STYLE[finding.severity]),
        f" {finding.rule_id} {where}{finding.message}\n",
        ("      fix: ", "dim"),
        finding.fix,
    )


def summary_line(report: LintReport) -> str:
    """Return e.g. ``2 errors, 1 warning in 3 compose files``."""
    return (
        f"{_count(report.errors, 'error')}, {_count(report.warnings, 'warning')} in "
        f"{_count(len(report.projects), 'compose file')}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def print_rules(output: OutputFormat) -> None:
    """Print the rule table (id, severity, title, description)."""
    if output == OutputFormat.JSON:
        print_json({"rules": [rule.as_dict() for rule in RULES]})
        return
    table = Table("id", "severity", "title", "description", show_lines=False)
    for rule in RULES:
        table.add_row(
            rule.rule_id,
            Text(rule.severity.value, style=_SEVERITY_STYLE[rule.severity]),
            rule.title,
            rule.description,
        )
    console.print(table)
