"""up/down/restart/pull with a recording executor and a fake engine: order, flags, dry runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.console import Console

from mediastack.adapters.engine import NetworkInfo
from mediastack.adapters.errors import AdapterError, CommandError, ToolMissingError
from mediastack.adapters.fakes import FakeEngine, RecordingExecutor
from mediastack.config import LoadedConfig
from mediastack.stack import operations
from mediastack.stack.rendered import RenderedFileError
from mediastack.stack.targets import TargetError

MakeHomelab = Callable[..., LoadedConfig]
NETWORK = "homelab_media_network"


def quiet_console() -> Console:
    return Console(record=True, width=400, color_system=None)


def compose_calls(executor: RecordingExecutor) -> list[tuple[str, ...]]:
    """Return (project, subcommand, options and services...) of each compose call but version."""
    calls = []
    for command in executor.commands:
        if command[:2] == ("docker", "compose") and "--project-name" in command:
            project = command[command.index("--project-name") + 1]
            rest = command[command.index("--project-directory") + 2 :]
            calls.append((project, *rest))
    return calls


def test_up_creates_the_network_then_each_stack_in_order(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab()
    engine = FakeEngine()
    console = quiet_console()
    plan = operations.up(loaded, executor=executor, console=console, engine=engine)
    assert [target.stack.value for target in plan] == ["vpn", "media", "ops"]
    assert engine.networks[NETWORK].labels == {"mediastack.managed": "true"}
    assert executor.commands[0] == ("docker", "compose", "version", "--short")
    wait = ("up", "--remove-orphans", "--detach", "--wait", "--wait-timeout", "300")
    assert compose_calls(executor) == [
        ("home-vpn", *wait),
        ("home-media", *wait),
        ("home-ops", *wait),
    ]
    assert all(call.streamed for call in executor.calls[1:])
    output = console.export_text()
    assert f"network {NETWORK}: created" in output
    assert "up vpn (home-vpn): all services" in output


def test_up_runs_compose_on_the_rendered_file_and_folder(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab(stacks=("media",))
    operations.up(loaded, executor=executor, console=quiet_console(), engine=FakeEngine())
    command = executor.commands[1]
    stacks = loaded.stacks_folder
    assert command[:8] == (
        "docker",
        "compose",
        "--project-name",
        "home-media",
        "--file",
        str(stacks / "media" / "compose.yaml"),
        "--project-directory",
        str(stacks / "media"),
    )


def test_up_of_an_existing_network_says_so(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    engine = FakeEngine(networks={NETWORK: NetworkInfo("n1", NETWORK, "bridge")})
    console = quiet_console()
    operations.up(make_homelab(), executor=executor, console=console, engine=engine, wait=False)
    assert f"network {NETWORK}: exists" in console.export_text()
    assert compose_calls(executor)[0] == ("home-vpn", "up", "--remove-orphans", "--detach")


def test_up_of_gluetun_brings_the_services_in_its_namespace(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    console = quiet_console()
    operations.up(
        make_homelab(), ["gluetun"], executor=executor, console=console, engine=FakeEngine()
    )
    (call,) = compose_calls(executor)
    services = call[call.index("300") + 1 :]
    assert services[:3] == ("gluetun", "qbittorrent", "prowlarr")
    assert "recyclarr" in services
    assert "live in gluetun's namespace: included" in console.export_text()


def test_up_force_recreate_of_services_does_not_touch_their_dependencies(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    operations.up(
        make_homelab(),
        ["sonarr"],
        executor=executor,
        console=quiet_console(),
        engine=FakeEngine(),
        force_recreate=True,
    )
    (call,) = compose_calls(executor)
    assert call[-3:] == ("--force-recreate", "--no-deps", "sonarr")


def test_dry_run_prints_a_script_and_runs_nothing(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab()
    console = quiet_console()
    operations.up(loaded, ["media"], executor=executor, console=console, dry_run=True)
    assert executor.calls == []  # not even `compose version`
    lines = console.export_text().splitlines()
    assert lines[0] == f"# create network {NETWORK} unless it exists:"
    assert lines[1] == (
        f"docker network create --driver=bridge --label=mediastack.managed=true {NETWORK}"
    )
    assert lines[2] == "# up media (home-media): all services"
    stacks = loaded.stacks_folder
    assert lines[3] == (
        f"docker compose --project-name home-media --file {stacks}/media/compose.yaml "
        f"--project-directory {stacks}/media up --remove-orphans --detach --wait "
        "--wait-timeout 300"
    )
    assert len(lines) == 4


def test_up_without_an_engine_is_only_allowed_as_a_dry_run(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    with pytest.raises(ValueError, match="needs an engine"):
        operations.up(make_homelab(), executor=executor, console=quiet_console())


def test_a_missing_compose_file_says_run_render(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab(stacks=())
    with pytest.raises(RenderedFileError, match="no rendered stack"):
        operations.up(loaded, executor=executor, console=quiet_console(), engine=FakeEngine())


def test_a_missing_compose_plugin_stops_before_anything_changes(
    make_homelab: MakeHomelab,
) -> None:
    executor = RecordingExecutor()
    executor.respond("version", stderr="unknown flag: --short", exit_code=125)
    engine = FakeEngine()
    with pytest.raises(ToolMissingError):
        operations.up(make_homelab(), executor=executor, console=quiet_console(), engine=engine)
    assert engine.networks == {}
    assert len(executor.calls) == 1


def test_an_old_compose_is_refused(make_homelab: MakeHomelab) -> None:
    executor = RecordingExecutor()
    executor.respond("version", stdout="2.12.2\n")
    with pytest.raises(AdapterError, match=r"Docker Compose 2\.12\.2 is older than 2\.20\.0"):
        operations.restart(make_homelab(), executor=executor, console=quiet_console())


def test_a_failing_stack_stops_the_sequence(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    executor.respond("home-vpn", "up", exit_code=1)
    with pytest.raises(CommandError, match="home-vpn exited 1"):
        operations.up(
            make_homelab(), executor=executor, console=quiet_console(), engine=FakeEngine()
        )
    assert [call[0] for call in compose_calls(executor)] == ["home-vpn"]


def test_down_goes_in_reverse_order_and_leaves_the_network(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    engine = FakeEngine(networks={NETWORK: NetworkInfo("n1", NETWORK, "bridge")})
    console = quiet_console()
    operations.down(make_homelab(), executor=executor, console=console, engine=engine)
    assert compose_calls(executor) == [
        ("home-ops", "down", "--remove-orphans"),
        ("home-media", "down", "--remove-orphans"),
        ("home-vpn", "down", "--remove-orphans"),
    ]
    assert NETWORK in engine.networks
    assert f"network {NETWORK} left in place" in console.export_text()


def test_down_of_gluetun_takes_its_namespace_down_too(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    operations.down(make_homelab(), ["gluetun"], executor=executor, console=quiet_console())
    (call,) = compose_calls(executor)
    assert call[:3] == ("home-vpn", "down", "gluetun")
    assert "qbittorrent" in call


def test_down_remove_network_removes_only_a_network_mediastack_made(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab()
    managed = NetworkInfo("n1", NETWORK, "bridge", {"mediastack.managed": "true"})
    engine = FakeEngine(networks={NETWORK: managed})
    operations.down(
        loaded, executor=executor, console=quiet_console(), engine=engine, remove_network=True
    )
    assert engine.networks == {}
    foreign = FakeEngine(networks={NETWORK: NetworkInfo("n2", NETWORK, "bridge")})
    console = quiet_console()
    operations.down(loaded, executor=executor, console=console, engine=foreign, remove_network=True)
    assert NETWORK in foreign.networks
    assert "left in place: mediastack did not create it" in console.export_text()


def test_remove_network_needs_a_full_down(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    with pytest.raises(TargetError, match="--remove-network"):
        operations.down(
            make_homelab(),
            ["media"],
            executor=executor,
            console=quiet_console(),
            remove_network=True,
        )
    assert executor.calls == []


def test_down_dry_run_with_remove_network(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    console = quiet_console()
    operations.down(
        make_homelab(stacks=("ops",)),
        executor=executor,
        console=console,
        dry_run=True,
        remove_network=True,
    )
    assert executor.calls == []
    lines = console.export_text().splitlines()
    assert lines[0] == "# down ops (home-ops): all services"
    assert lines[1].endswith("down --remove-orphans")
    assert lines[2:] == [
        f"# remove network {NETWORK} if mediastack created it:",
        f"docker network rm {NETWORK}",
    ]


def test_restart_and_pull_of_services_per_stack(
    make_homelab: MakeHomelab, executor: RecordingExecutor
) -> None:
    loaded = make_homelab()
    operations.restart(loaded, ["seerr", "gluetun"], executor=executor, console=quiet_console())
    operations.pull(loaded, ["ops"], executor=executor, console=quiet_console())
    assert compose_calls(executor) == [
        ("home-vpn", "restart", "gluetun"),  # compose restarts its namespace itself
        ("home-media", "restart", "seerr"),
        ("home-ops", "pull"),
    ]


def test_restart_dry_run(make_homelab: MakeHomelab, executor: RecordingExecutor) -> None:
    console = quiet_console()
    operations.restart(make_homelab(), ["sonarr"], executor=executor, console=console, dry_run=True)
    assert executor.calls == []
    assert console.export_text().splitlines()[-1].endswith(" restart sonarr")
