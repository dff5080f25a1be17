"""Rendering: the topology the design asks for, deterministic, secrets never inline."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from mediastack.catalogue import Stack
from mediastack.config import ConfigError, LoadedConfig, load_config
from mediastack.render import NAMESPACE_GUARD, render_stacks, render_to_disk

SECRETS = (
    "GLUETUN_API_KEY=k\nWIREGUARD_PRIVATE_KEY=w\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"
    "SONARR_API_KEY=s\nRADARR_API_KEY=r\nPROWLARR_API_KEY=p\nSEERR_API_KEY=e\n"
)


def make_config(tmp_path: Path, text: str = "", secrets: str = SECRETS) -> LoadedConfig:
    (tmp_path / "mediastack.yaml").write_text(text)
    (tmp_path / ".env").write_text(secrets)
    return load_config(tmp_path / "mediastack.yaml")


def documents(loaded: LoadedConfig) -> dict[str, dict]:  # type: ignore[type-arg]
    return {rendered.stack.value: rendered.document for rendered in render_stacks(loaded)}


def test_dependents_live_in_gluetuns_namespace_and_publish_through_it(tmp_path: Path) -> None:
    vpn = documents(make_config(tmp_path, "network: {bind_address: 127.0.0.1}\n"))["vpn"]
    services = vpn["services"]
    for name in ("qbittorrent", "prowlarr", "sonarr", "radarr", "bazarr", "unpackerr"):
        assert services[name]["network_mode"] == "service:gluetun"
        assert "ports" not in services[name]
        assert services[name]["depends_on"]["gluetun"]["condition"] == "service_healthy"
    assert "127.0.0.1:8080:8080" in services["gluetun"]["ports"]
    assert "127.0.0.1:8989:8989" in services["gluetun"]["ports"]
    assert services["gluetun"]["cap_add"] == ["NET_ADMIN"]
    assert services["gluetun"]["devices"] == ["/dev/net/tun:/dev/net/tun"]


def test_dependent_healthchecks_fail_in_a_namespace_with_only_lo(tmp_path: Path) -> None:
    vpn = documents(make_config(tmp_path))["vpn"]
    for name, service in vpn["services"].items():
        probe = service["healthcheck"]["test"][1]
        assert probe.startswith(NAMESPACE_GUARD) == (name != "gluetun")


def test_one_data_mount_for_the_download_client_and_arr_apps(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    vpn = documents(loaded)["vpn"]["services"]
    data_mount = f"{loaded.data_folder}:/data"
    for name in ("qbittorrent", "sonarr", "radarr", "cross-seed", "unpackerr"):
        assert data_mount in vpn[name]["volumes"]
    media = documents(loaded)["media"]["services"]
    assert f"{loaded.data_folder / 'media'}:/data/media" in media["plex"]["volumes"]


def test_plex_runs_on_the_host_network(tmp_path: Path) -> None:
    plex = documents(make_config(tmp_path))["media"]["services"]["plex"]
    assert plex["network_mode"] == "host"
    assert "ports" not in plex


def test_every_service_has_a_healthcheck_and_the_autoheal_label(tmp_path: Path) -> None:
    everything = {
        "services": {name: {"enabled": True} for name in ("ntfy", "whatsupdocker", "tautulli")}
    }
    loaded = make_config(tmp_path, yaml.safe_dump(everything))
    for document in documents(loaded).values():
        for service in document["services"].values():
            assert service["healthcheck"]["test"][0] == "CMD-SHELL"
            assert service["labels"]["autoheal"] == "true"


def test_the_control_server_gets_an_api_key_role_by_reference(tmp_path: Path) -> None:
    gluetun = documents(make_config(tmp_path))["vpn"]["services"]["gluetun"]
    role = gluetun["environment"]["HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE"]
    assert '"auth":"apikey"' in role
    assert "${GLUETUN_API_KEY:?" in role
    assert gluetun["environment"]["WIREGUARD_PRIVATE_KEY"].startswith("${WIREGUARD_PRIVATE_KEY:?")


def test_image_overrides_and_ports(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "services:\n"
        "  sonarr: {tag: '4.0.9', ports: {webui: 18989}}\n"
        "  radarr: {image: 'local/radarr:test', pull_policy: never}\n"
        "  bazarr: {enabled: false}\n",
    )
    vpn = documents(loaded)["vpn"]["services"]
    assert vpn["sonarr"]["image"] == "lscr.io/linuxserver/sonarr:4.0.9"
    assert vpn["radarr"]["image"] == "local/radarr:test"
    assert vpn["radarr"]["pull_policy"] == "never"
    assert "bazarr" not in vpn
    assert "0.0.0.0:18989:8989" in vpn["gluetun"]["ports"]
    assert not any(":6767:" in binding for binding in vpn["gluetun"]["ports"])


def test_a_service_needing_a_disabled_one_is_a_config_problem(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, "services: {whatsupdocker: {enabled: true}, socket-proxy: {enabled: false}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        render_stacks(loaded)
    assert caught.value.problems[0].path == "services.socket-proxy.enabled"


def test_render_is_deterministic_and_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    first = render_to_disk(loaded)
    assert all(file.changed for file in first)
    texts = {file.path: file.path.read_text() for file in first}
    second = render_to_disk(loaded)
    assert not any(file.changed for file in second)
    assert texts == {file.path: file.path.read_text() for file in second}


def test_stack_env_files_hold_only_their_secrets_with_mode_0600(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    render_to_disk(loaded)
    vpn_env = (loaded.stacks_folder / "vpn" / ".env").read_text()
    assert "WIREGUARD_PRIVATE_KEY=w" in vpn_env
    ops_env = (loaded.stacks_folder / "ops" / ".env").read_text()
    assert "WIREGUARD" not in ops_env
    mode = stat.S_IMODE((loaded.stacks_folder / "vpn" / ".env").stat().st_mode)
    assert mode == 0o600
    compose_text = loaded.compose_file(Stack.VPN).read_text()
    assert "=w\n" not in compose_text and ": w\n" not in compose_text


def test_missing_secrets_are_all_named_and_nothing_is_written(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, secrets="GLUETUN_API_KEY=k\n")
    with pytest.raises(ConfigError) as caught:
        render_to_disk(loaded)
    named = {problem.path for problem in caught.value.problems}
    assert {"WIREGUARD_PRIVATE_KEY", "SONARR_API_KEY"} <= named
    assert not loaded.stacks_folder.exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    written = render_to_disk(loaded, dry_run=True)
    assert written and all(file.changed for file in written)
    assert not loaded.stacks_folder.exists()


def test_healthcheck_timing_can_be_tuned_per_service(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, "services: {sonarr: {healthcheck: {interval: 2s, retries: 5}}}\n"
    )
    check = documents(loaded)["vpn"]["services"]["sonarr"]["healthcheck"]
    assert check["interval"] == "2s"
    assert check["retries"] == 5
    assert check["timeout"] == "10s"


def test_two_services_on_one_host_port_is_a_config_problem(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "services:\n"
        "  sonarr: {ports: {webui: 8080}}\n"
        "  tautulli: {enabled: true, ports: {webui: 5055}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        render_stacks(loaded)
    messages = {problem.path: problem.message for problem in caught.value.problems}
    assert "qbittorrent" in messages["services.sonarr.ports.webui"]
    assert "seerr" in messages["services.tautulli.ports.webui"]


def test_the_socket_proxy_is_reachable_only_on_an_internal_network(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "services: {whatsupdocker: {enabled: true}}\n")
    ops = documents(loaded)["ops"]
    assert ops["networks"]["docker-api"] == {"internal": True}
    assert ops["networks"]["docker-api-read-only"] == {"internal": True}
    assert ops["services"]["socket-proxy"]["networks"] == ["docker-api"]
    assert ops["services"]["socket-proxy-read-only"]["networks"] == ["docker-api-read-only"]
    assert ops["services"]["supervisor"]["networks"] == ["default", "docker-api"]
    # WUD cannot reach the supervisor's proxy (which creates containers), only its own.
    assert ops["services"]["whatsupdocker"]["networks"] == ["default", "docker-api-read-only"]
    media = documents(loaded)["media"]["services"]
    assert "networks" not in media["seerr"]


def allowed(environment: dict[str, str]) -> set[str]:
    """The API sections a socket proxy's environment opens (upstream's variables set to 1)."""
    return {name for name, value in environment.items() if value == "1" and name != "TZ"}


def test_wuds_socket_proxy_allows_reads_only(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "services: {whatsupdocker: {enabled: true}}\n")
    ops = documents(loaded)["ops"]["services"]
    proxy = ops["socket-proxy-read-only"]["environment"]
    assert proxy["POST"] == "0"  # every method but GET refused
    # These three open their paths even with POST=0 (upstream checks them first).
    assert {"ALLOW_START", "ALLOW_STOP", "ALLOW_RESTARTS"}.isdisjoint(allowed(proxy))
    assert allowed(proxy) == {"CONTAINERS", "IMAGES", "EVENTS", "PING", "VERSION"}
    assert ops["whatsupdocker"]["environment"]["WUD_WATCHER_LOCAL_HOST"] == "socket-proxy-read-only"
    assert ops["whatsupdocker"]["depends_on"] == {
        "socket-proxy-read-only": {"condition": "service_healthy"}
    }


def test_the_supervisors_socket_proxy_allows_only_what_it_uses(tmp_path: Path) -> None:
    ops = documents(make_config(tmp_path))["ops"]["services"]
    assert allowed(ops["socket-proxy"]["environment"]) == {
        "CONTAINERS", "EVENTS", "IMAGES", "INFO", "NETWORKS", "PING", "POST", "VERSION",
    }  # fmt: skip


def test_the_read_only_socket_proxy_runs_only_with_whatsupdocker(tmp_path: Path) -> None:
    assert "socket-proxy-read-only" not in documents(make_config(tmp_path))["ops"]["services"]
    switched_off = make_config(
        tmp_path,
        "services: {whatsupdocker: {enabled: true}, socket-proxy-read-only: {enabled: false}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        render_stacks(switched_off)
    assert caught.value.problems[0].path == "services.socket-proxy-read-only.enabled"


def test_the_supervisor_sees_the_homelab_at_its_own_path(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "services: {supervisor: {enabled: true}}\n")
    supervisor = documents(loaded)["ops"]["services"]["supervisor"]
    assert f"{loaded.root}:{loaded.root}" in supervisor["volumes"]
    assert supervisor["environment"]["MEDIASTACK_CONFIG"] == str(loaded.path)
    assert supervisor["environment"]["DOCKER_HOST"] == "tcp://socket-proxy:2375"
    assert supervisor["command"] == ["supervise"]
    assert supervisor["pull_policy"] == "never"
    assert "/var/run/docker.sock" not in str(supervisor["volumes"])
    assert "supervise --check" in supervisor["healthcheck"]["test"][1]
    assert supervisor["stop_grace_period"] == "240s"


def test_the_supervisor_publishes_the_update_webhook_on_the_bind_address(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "network: {bind_address: 127.0.0.1}\n"
        "services: {supervisor: {enabled: true}}\n"
        "updates: {webhook: {enabled: true, port: 18099}}\n",
    )
    supervisor = documents(loaded)["ops"]["services"]["supervisor"]
    # WUD's trigger and the host reach the daemon in its container only through this binding.
    assert supervisor["ports"] == ["127.0.0.1:18099:18099"]


def test_the_supervisor_publishes_its_listener_for_the_status_pages_by_default(
    tmp_path: Path,
) -> None:
    loaded = make_config(tmp_path, "services: {supervisor: {enabled: true}}\n")
    ports = documents(loaded)["ops"]["services"]["supervisor"]["ports"]
    assert ports == ["0.0.0.0:8099:8099"]


def test_the_supervisor_publishes_nothing_while_the_pages_and_webhook_are_off(
    tmp_path: Path,
) -> None:
    loaded = make_config(tmp_path, "status: {enabled: false}\n")
    assert "ports" not in documents(loaded)["ops"]["services"]["supervisor"]


def test_a_webhook_port_taken_by_a_service_is_a_config_problem(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "services: {supervisor: {enabled: true}}\n"
        "updates: {webhook: {enabled: true, port: 8989}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        render_stacks(loaded)
    messages = {problem.path: problem.message for problem in caught.value.problems}
    assert "sonarr" in messages["updates.webhook.port"]


def test_a_loopback_webhook_in_the_supervisor_container_is_a_config_problem(
    tmp_path: Path,
) -> None:
    loaded = make_config(
        tmp_path,
        "services: {supervisor: {enabled: true}}\n"
        "updates: {webhook: {enabled: true, bind_address: 127.0.0.1}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        render_stacks(loaded)
    (problem,) = caught.value.problems
    assert problem.path == "updates.webhook.bind_address"
    assert "0.0.0.0" in (problem.fix or "")
