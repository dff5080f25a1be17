"""What ``up`` does before compose runs: render a stale homelab, refuse placeholders with exit
2 and nothing started, build the supervisor image only when it is missing or stale; and after
the stacks are healthy: wire the apps."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from stack_cli_support import Wiring, invoke

from mediastack.adapters.engine import ContainerInfo
from mediastack.catalogue import Stack
from mediastack.config import ConfigError, LoadedConfig, load_config
from mediastack.links.endpoints import Vantage
from mediastack.links.link import LinkStatus
from mediastack.links.report import LinkState
from mediastack.render import render_to_disk
from mediastack.render.environment import read_secrets
from mediastack.stack import first_start
from mediastack.stack.preflight import placeholder_problems, render_if_stale, stale_reason
from mediastack.supervisor_image import build as image_build

SECRETS = (
    "GLUETUN_API_KEY=g\nSONARR_API_KEY=s\nRADARR_API_KEY=r\nPROWLARR_API_KEY=p\n"
    "SEERR_API_KEY=e\nBAZARR_API_KEY=b\nQBITTORRENT_PASSWORD=q\n"
    "WIREGUARD_PRIVATE_KEY={key}\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"
)


def homelab(tmp_path: Path, key: str = "real-key") -> LoadedConfig:
    (tmp_path / "mediastack.yaml").write_text("name: home\n")
    (tmp_path / ".env").write_text(SECRETS.format(key=key))
    loaded = load_config(tmp_path / "mediastack.yaml")
    render_to_disk(loaded)
    return loaded


def age(path: Path, seconds: int) -> None:
    moment = path.stat().st_mtime - seconds
    os.utime(path, (moment, moment))


def test_a_fresh_render_is_current(tmp_path: Path) -> None:
    assert stale_reason(homelab(tmp_path)) is None


def test_an_edited_config_is_rendered_first_and_then_current(tmp_path: Path) -> None:
    loaded = homelab(tmp_path)
    for stack in Stack:
        age(loaded.compose_file(stack), 60)
    (tmp_path / "mediastack.yaml").write_text("name: home\nidentity: {timezone: Europe/Berlin}\n")
    loaded = load_config(loaded.path)
    said: list[str] = []
    assert render_if_stale(loaded, said.append, dry_run=False)
    assert "mediastack.yaml changed after" in said[0]
    assert "stacks/vpn/compose.yaml" in said[0]
    assert "Europe/Berlin" in loaded.compose_file(Stack.VPN).read_text()
    assert stale_reason(loaded) is None


def test_a_dry_run_says_it_would_render_and_writes_nothing(tmp_path: Path) -> None:
    loaded = homelab(tmp_path)
    compose_file = loaded.compose_file(Stack.VPN)
    age(compose_file, 60)
    before = compose_file.read_text()
    (tmp_path / "mediastack.yaml").write_text("name: home\nidentity: {timezone: Europe/Berlin}\n")
    said: list[str] = []
    assert render_if_stale(load_config(loaded.path), said.append, dry_run=True)
    assert "would render" in said[0]
    assert compose_file.read_text() == before


def test_a_compose_file_edited_by_hand_after_render_is_run_as_it_is(tmp_path: Path) -> None:
    loaded = homelab(tmp_path)
    age(loaded.path, 60)
    age(loaded.env_file, 60)
    compose_file = loaded.compose_file(Stack.VPN)
    compose_file.write_text(compose_file.read_text() + "# my edit\n")
    assert not render_if_stale(loaded, [].append, dry_run=False)
    assert compose_file.read_text().endswith("# my edit\n")


def test_a_placeholder_names_the_variable_and_the_stack(tmp_path: Path) -> None:
    loaded = homelab(tmp_path, key="CHANGE_ME_WIREGUARD_PRIVATE_KEY")
    problems = placeholder_problems(loaded, {Stack.VPN, Stack.MEDIA, Stack.OPS})
    assert [problem.path for problem in problems] == ["WIREGUARD_PRIVATE_KEY"]
    assert "vpn stack" in problems[0].message
    assert str(loaded.env_file) in problems[0].fix
    # A stack that does not need it can start.
    assert placeholder_problems(loaded, {Stack.MEDIA}) == []


def test_up_with_a_placeholder_exits_2_and_starts_nothing(
    tmp_path: Path, wiring: Wiring
) -> None:
    loaded = homelab(tmp_path, key="CHANGE_ME_WIREGUARD_PRIVATE_KEY")
    code, _, err = invoke(loaded, "up")
    assert code == 2
    assert "WIREGUARD_PRIVATE_KEY" in err and "placeholder" in err
    assert wiring.executor.calls == []
    assert wiring.engine is not None and wiring.engine.networks == {}


def test_up_builds_a_missing_supervisor_image_before_the_stacks(
    tmp_path: Path, wiring: Wiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[Path] = []
    monkeypatch.setattr(image_build, "prepare_context", lambda folder: prepared.append(folder))
    loaded = homelab(tmp_path)
    assert wiring.engine is not None
    wiring.missing_images.add("mediastack/supervisor:0.1.0")
    code, out, err = invoke(loaded, "up", "ops", "--no-wait")
    assert code == 0, err
    assert "building mediastack/supervisor:0.1.0: mediastack/supervisor:0.1.0 is not built" in out
    (tag, arguments, _), = wiring.engine.builds
    assert tag == "mediastack/supervisor:0.1.0"
    assert arguments == {"BASE_IMAGE": "python:3.11-slim-bookworm"}
    assert len(prepared) == 1
    # Built once: the next up finds it, labelled with this code.
    invoke(loaded, "up", "ops", "--no-wait")
    assert len(wiring.engine.builds) == 1


def test_an_image_of_the_users_own_is_never_built(tmp_path: Path, wiring: Wiring) -> None:
    loaded = homelab(tmp_path)
    (tmp_path / "mediastack.yaml").write_text(
        "name: home\nservices: {supervisor: {image: registry.lan/me/supervisor:1}}\n"
    )
    loaded = load_config(loaded.path)
    assert image_build.own_image_tag(loaded) is None
    assert first_start.prepare_up(
        loaded, ["ops"], engine=None, images=None, say=[].append, dry_run=True
    )


def test_decide_rebuilds_an_image_built_from_other_code() -> None:
    label = image_build.SOURCE_LABEL
    assert image_build.decide("t", "b", None, "abc").reason == "t is not built yet"
    assert "other code (old)" in str(image_build.decide("t", "b", {label: "old"}, "abc").reason)
    assert not image_build.decide("t", "b", {label: "abc"}, "abc").build


def test_a_config_that_no_longer_renders_is_a_config_error(tmp_path: Path) -> None:
    loaded = homelab(tmp_path)
    (tmp_path / ".env").write_text("")  # every secret gone
    with pytest.raises(ConfigError):
        render_if_stale(load_config(loaded.path), [].append, dry_run=False)


def test_up_wires_the_apps_from_the_host_once_the_last_stack_is_healthy(
    tmp_path: Path, wiring: Wiring
) -> None:
    loaded = homelab(tmp_path)
    code, out, _ = invoke(loaded, "up")
    assert code == 0
    ((options, commands_before),) = wiring.wire.calls
    commands = wiring.executor.commands
    last_up = max(i for i, c in enumerate(commands) if "up" in c and "--wait" in c)
    assert "home-ops" in " ".join(commands[last_up])
    assert commands_before == len(commands) and commands_before > last_up
    assert options.vantage is Vantage.HOST and not options.dry_run
    assert options.app_wait_seconds == loaded.config.wiring.app_wait_seconds
    assert "made sonarr qBittorrent download client" in out
    assert "1 links: 1 made" in out
    assert not [c for c in commands if "exec" in c]  # Recyclarr's sync is the wire's now


def test_a_broken_link_is_said_with_the_retry_and_does_not_fail_up(
    tmp_path: Path, wiring: Wiring
) -> None:
    loaded = homelab(tmp_path)
    wiring.wire.links = (
        LinkState("radarr", "radarr:rootfolder", "root folder /data/media/movies",
                  LinkStatus.BROKEN, "radarr at http://127.0.0.1:7878 does not answer"),
    )  # fmt: skip
    code, out, _ = invoke(loaded, "up", "vpn")
    assert code == 0
    assert "broken radarr root folder /data/media/movies: radarr at" in out
    assert "1 link(s) broken" in out and "`mediastack wire` retries" in out


def test_no_wire_without_waiting_in_a_dry_run_or_without_the_vpn_stack(
    tmp_path: Path, wiring: Wiring
) -> None:
    loaded = homelab(tmp_path)
    code, out, _ = invoke(loaded, "up", "vpn", "--no-wait")
    assert code == 0 and "run `mediastack wire` once they answer" in out
    code, out, _ = invoke(loaded, "up", "--dry-run")
    assert code == 0 and "wire the apps to each other once the stacks are healthy" in out
    code, out, _ = invoke(loaded, "up", "media")
    assert code == 0 and "wire" not in out
    assert wiring.wire.calls == []


def test_up_writes_the_app_configs_before_compose_and_never_under_a_running_app(
    tmp_path: Path, wiring: Wiring, captured: Callable[..., ContainerInfo]
) -> None:
    loaded = homelab(tmp_path)
    conf = loaded.config_folder / "qbittorrent" / "qBittorrent" / "qBittorrent.conf"
    code, out, _ = invoke(loaded, "up", "vpn", "--no-wait")
    assert code == 0
    assert "WebUI\\Password_PBKDF2" in conf.read_text()
    assert "qbittorrent config config/qbittorrent/qBittorrent/qBittorrent.conf created" in out
    assert (loaded.config_folder / "cross-seed" / "config.js").stat().st_mode & 0o777 == 0o600
    # qBittorrent now runs; a new password must not be written under it (it rewrites the file
    # on exit), and up says what to do.
    running = captured("dependent-before", project="home-vpn", service="qbittorrent")
    assert wiring.engine is not None
    wiring.engine.containers.append(running)
    before = conf.read_text()
    (tmp_path / ".env").write_text(SECRETS.format(key="real-key").replace("=q\n", "=new\n"))
    code, out, _ = invoke(load_config(loaded.path), "up", "vpn", "--no-wait")
    assert code == 0
    assert conf.read_text() == before
    assert "skipped-running" in out and "stop it" in out


def test_up_gives_an_older_env_the_status_token_and_a_dry_run_only_says_so(
    tmp_path: Path, wiring: Wiring
) -> None:
    loaded = homelab(tmp_path)
    assert "MEDIASTACK_STATUS_TOKEN" not in read_secrets(loaded.env_file)
    code, out, err = invoke(loaded, "up", "ops", "--no-wait", "--dry-run")
    assert code == 0, err
    assert "would add to .env: " in out and "MEDIASTACK_STATUS_TOKEN" in out
    assert "MEDIASTACK_STATUS_TOKEN" not in read_secrets(loaded.env_file)
    code, out, err = invoke(loaded, "up", "ops", "--no-wait")
    assert code == 0, err
    assert "added to .env: " in out
    assert len(read_secrets(loaded.env_file)["MEDIASTACK_STATUS_TOKEN"]) >= 16
