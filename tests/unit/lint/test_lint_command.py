"""``mediastack lint`` through the CLI: exit codes (0 warnings only, 1 errors, 2 unreadable),
the JSON shape, --stacks-dir without a config, and --list-rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from lint_support import FIXTURES, RenderedTree
from typer.testing import CliRunner, Result

from mediastack.cli.common import CliState
from mediastack.cli.lint_command import register
from mediastack.lint import RULES


def build_app() -> typer.Typer:
    """A throwaway app: the real ``lint`` command under a callback like cli/main.py's."""
    app = typer.Typer()

    @app.callback()
    def main(
        context: typer.Context,
        config: Path = typer.Option(Path("mediastack.yaml"), "-c", "--config"),
    ) -> None:
        context.obj = CliState(config_path=config)

    register(app)
    return app


def flat(text: str) -> str:
    """Undo rich's wrapping at the test terminal's width: one space between words."""
    return " ".join(text.split())


def without_spaces(text: str) -> str:
    """Remove all whitespace, so a path folded across lines can be found."""
    return "".join(text.split())


def run(*arguments: str) -> Result:
    return CliRunner().invoke(build_app(), list(arguments))


def run_with_config(tree: RenderedTree, *arguments: str) -> Result:
    return run("-c", str(tree.config_path), "lint", *arguments)


def test_warnings_only_exit_0_with_a_summary(rendered: RenderedTree) -> None:
    result = run_with_config(rendered)
    assert result.exit_code == 0, result.output
    assert "NET001" in flat(result.stdout)
    assert "0 errors, 5 warnings in 3 compose files" in flat(result.stdout)


def test_clean_render_exits_0(rendered_local: RenderedTree) -> None:
    result = run_with_config(rendered_local)
    assert result.exit_code == 0
    assert "0 errors, 0 warnings" in flat(result.stdout)


def test_an_error_exits_1(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn", "sonarr", lambda service: service["volumes"].append("/srv/torrents:/downloads")
    )
    result = run_with_config(rendered)
    assert result.exit_code == 1
    assert "HLK003" in result.stdout and "fix:" in flat(result.stdout)
    assert "1 error, 5 warnings" in flat(result.stdout)


def test_json_shape_and_nothing_else_on_stdout(rendered: RenderedTree) -> None:
    rendered.edit("vpn", "qbittorrent", lambda service: service.pop("network_mode"))
    result = run_with_config(rendered, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert set(payload) == {"findings", "errors", "warnings"}
    assert payload["errors"] == 1 and payload["warnings"] == 5
    leak = next(f for f in payload["findings"] if f["rule_id"] == "VPN001")
    assert set(leak) == {"rule_id", "severity", "stack", "service", "message", "fix"}
    assert (leak["severity"], leak["stack"], leak["service"]) == ("error", "vpn", "qbittorrent")


def test_unparseable_yaml_exits_2_naming_the_file(rendered: RenderedTree) -> None:
    broken = rendered.compose_path("media")
    broken.write_text("services:\n  plex: [unclosed\n")
    result = run_with_config(rendered, "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert str(broken) in without_spaces(result.stderr)
    assert "not valid YAML" in flat(result.stderr)


def test_not_a_compose_file_exits_2(rendered: RenderedTree) -> None:
    rendered.compose_path("ops").write_text("just text\n")
    result = run_with_config(rendered)
    assert result.exit_code == 2
    assert "top level must be a mapping" in flat(result.stderr)


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = run("-c", str(tmp_path / "absent.yaml"), "lint")
    assert result.exit_code == 2
    assert "file not found" in flat(result.stderr)


def test_unrendered_stacks_exit_2(tmp_path: Path) -> None:
    (tmp_path / "mediastack.yaml").write_text("name: mediastack\n")
    result = run("-c", str(tmp_path / "mediastack.yaml"), "lint")
    assert result.exit_code == 2
    assert "vpn, media, ops" in flat(result.stderr)
    assert "mediastack render" in flat(result.stderr)


def test_hand_added_stack_is_linted_with_the_rendered_ones(rendered_local: RenderedTree) -> None:
    shutil.copytree(FIXTURES / "handwritten", rendered_local.stacks / "downloads")
    result = run_with_config(rendered_local, "--format", "json")
    assert result.exit_code == 1
    stacks = {finding["stack"] for finding in json.loads(result.stdout)["findings"]}
    assert stacks == {"downloads"}


def test_stacks_dir_needs_no_config(tmp_path: Path) -> None:
    result = run(
        "-c", str(tmp_path / "absent.yaml"), "lint", "--stacks-dir", str(FIXTURES / "long-syntax")
    )
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings in 1 compose file" in flat(result.stdout)


def test_stacks_dir_that_is_not_a_folder_exits_2(tmp_path: Path) -> None:
    result = run("lint", "--stacks-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "is not a folder" in flat(result.stderr)


def test_empty_stacks_dir_exits_2(tmp_path: Path) -> None:
    result = run("lint", "--stacks-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "no compose file" in flat(result.stderr)


@pytest.mark.parametrize("output", ["text", "json"])
def test_list_rules(output: str, tmp_path: Path) -> None:
    result = run("-c", str(tmp_path / "absent.yaml"), "lint", "--list-rules", "--format", output)
    assert result.exit_code == 0
    if output == "json":
        rules = json.loads(result.stdout)["rules"]
        assert [rule["id"] for rule in rules] == [rule.rule_id for rule in RULES]
        assert set(rules[0]) == {"id", "severity", "title", "description"}
    else:
        assert all(rule.rule_id in result.stdout for rule in RULES)
