"""Folders, hardlinks, ports and secrets: every verdict from observed facts alone, and what a
config asks of the host."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mediastack.catalogue import Zone
from mediastack.config import LoadedConfig
from mediastack.doctor.expectations import (
    expected_folders,
    expected_published_ports,
    required_secrets,
)
from mediastack.doctor.facts import (
    FolderFacts,
    HardlinkFacts,
    LinkOutcome,
    PortFacts,
    PortState,
    PublishedPort,
    RequiredSecret,
    SecretsFileFacts,
)
from mediastack.doctor.model import Status
from mediastack.doctor.stack_checks import (
    evaluate_folders,
    evaluate_hardlinks,
    evaluate_ports,
    evaluate_secret_values,
    evaluate_secrets_file,
)
from mediastack.render.compose import published_ports

MakeConfig = Callable[..., LoadedConfig]
DATA = Path("/srv/homelab/data")
TORRENTS, MEDIA = DATA / "torrents", DATA / "media"


def folder(path: Path, uid: int = 1000, gid: int = 1000) -> FolderFacts:
    return FolderFacts(path, exists=True, is_directory=True, owner_uid=uid, owner_gid=gid)


# --- folders -------------------------------------------------------------------------------


def test_folders_that_exist_with_the_right_owner_pass() -> None:
    result = evaluate_folders([folder(DATA), folder(TORRENTS)], 1000, 1000)
    assert result.status == Status.PASS
    assert result.message == "all 2 folders exist, owned by 1000:1000"


def test_a_wrong_owner_warns_with_the_exact_chown_command() -> None:
    facts = [
        folder(DATA, 0, 0),
        folder(TORRENTS, 0, 0),
        folder(MEDIA),
        folder(Path("/x y"), 1000, 0),
    ]
    result = evaluate_folders(facts, 1000, 1000)
    assert result.status == Status.WARN
    assert "/srv/homelab/data (0:0)" in result.message
    # data/torrents is covered by chown -R of data; a path with a space is quoted.
    assert result.fix == "sudo chown -R 1000:1000 /srv/homelab/data '/x y'"


def test_missing_folders_fail_with_init_or_mkdir() -> None:
    facts = [
        FolderFacts(DATA, exists=False),
        FolderFacts(TORRENTS, exists=False),
        FolderFacts(TORRENTS / "tv", exists=False),
    ]
    result = evaluate_folders(facts, 1000, 1000)
    assert result.status == Status.FAIL
    assert str(TORRENTS / "tv") in result.message
    assert result.fix is not None
    assert "run mediastack init" in result.fix
    # mkdir -p of the deepest folder makes its parents.
    assert "mkdir -p /srv/homelab/data/torrents/tv" in result.fix
    assert "mkdir -p /srv/homelab/data " not in result.fix


def test_missing_and_wrongly_owned_folders_fail_with_both_fixes() -> None:
    facts = [folder(DATA, 0, 0), FolderFacts(MEDIA, exists=False)]
    result = evaluate_folders(facts, 1000, 1000)
    assert result.status == Status.FAIL
    assert result.fix is not None
    assert "mkdir -p /srv/homelab/data/media" in result.fix
    assert "sudo chown -R 1000:1000 /srv/homelab/data" in result.fix


def test_a_file_where_a_folder_belongs_fails() -> None:
    result = evaluate_folders([FolderFacts(DATA, exists=True, is_directory=False)], 1000, 1000)
    assert result.status == Status.FAIL
    assert "not a folder" in result.message


def test_a_folder_that_could_not_be_inspected_warns() -> None:
    facts = [folder(DATA), FolderFacts(TORRENTS, exists=False, error="Permission denied")]
    result = evaluate_folders(facts, 1000, 1000)
    assert result.status == Status.WARN
    assert result.message == "could not inspect: /srv/homelab/data/torrents (Permission denied)"


# --- hardlinks -----------------------------------------------------------------------------


def hardlink(outcome: LinkOutcome, detail: str = "") -> HardlinkFacts:
    return HardlinkFacts(TORRENTS, MEDIA, outcome, detail)


def test_a_real_hardlink_passes() -> None:
    assert evaluate_hardlinks(hardlink(LinkOutcome.LINKED)).status == Status.PASS


def test_exdev_fails_and_explains_one_folder_on_one_filesystem() -> None:
    result = evaluate_hardlinks(hardlink(LinkOutcome.CROSS_DEVICE))
    assert result.status == Status.FAIL
    assert "EXDEV" in result.message
    assert "two filesystems or two mounts" in result.message
    assert "Equal device numbers prove nothing" in result.message
    assert result.fix is not None
    assert "one folder on one filesystem (/srv/homelab/data)" in result.fix
    assert "single folder as /data" in result.fix


def test_a_link_with_a_second_inode_fails() -> None:
    assert evaluate_hardlinks(hardlink(LinkOutcome.DIFFERENT_INODE)).status == Status.FAIL


@pytest.mark.parametrize(
    "outcome", [LinkOutcome.NOT_PERMITTED, LinkOutcome.MISSING_FOLDER, LinkOutcome.OTHER_ERROR]
)
def test_a_hardlink_probe_that_could_not_run_warns(outcome: LinkOutcome) -> None:
    result = evaluate_hardlinks(hardlink(outcome, "Permission denied: /srv/homelab/data/torrents"))
    assert result.status == Status.WARN
    assert result.message == "could not test: Permission denied: /srv/homelab/data/torrents"
    assert result.fix


# --- ports ---------------------------------------------------------------------------------

WEBUI = PublishedPort("qbittorrent", "webui", "127.0.0.1", 8080)
PLEX = PublishedPort("plex", "webui", "0.0.0.0", 32400, host_network=True)


def test_free_ports_pass() -> None:
    result = evaluate_ports([PortFacts(WEBUI, PortState.FREE), PortFacts(PLEX, PortState.FREE)], {})
    assert result.status == Status.PASS
    assert "8080, 32400" in result.message


def test_a_port_taken_by_another_program_fails_with_stop_or_move() -> None:
    result = evaluate_ports([PortFacts(WEBUI, PortState.IN_USE)], {})
    assert result.status == Status.FAIL
    assert "127.0.0.1:8080/tcp (qbittorrent webui) is in use" in result.message
    assert result.fix is not None
    assert "stop what listens on 8080" in result.fix
    assert "set services.qbittorrent.ports.webui: N" in result.fix


def test_a_host_network_port_cannot_be_moved_by_config() -> None:
    result = evaluate_ports([PortFacts(PLEX, PortState.IN_USE)], {})
    assert result.status == Status.FAIL
    assert result.fix is not None
    assert "stop what listens on 32400" in result.fix
    assert "services.plex.ports" not in result.fix


def test_a_port_held_by_this_stack_warns() -> None:
    holders = {(8080, "tcp"): "mediastack-vpn-gluetun-1", (32400, "tcp"): "mediastack-media-plex-1"}
    facts = [PortFacts(WEBUI, PortState.IN_USE), PortFacts(PLEX, PortState.IN_USE)]
    result = evaluate_ports(facts, holders)
    assert result.status == Status.WARN
    assert "held by mediastack-vpn-gluetun-1" in result.message
    assert "held by mediastack-media-plex-1" in result.message
    # One fix, not one per port.
    assert result.fix == "nothing to do while the stack is meant to be running"


def test_a_busy_port_warns_when_the_engine_cannot_say_who_holds_it() -> None:
    result = evaluate_ports([PortFacts(WEBUI, PortState.IN_USE)], None)
    assert result.status == Status.WARN
    assert "could not say" in result.message


def test_the_worst_port_decides_the_status() -> None:
    facts = [PortFacts(PLEX, PortState.IN_USE), PortFacts(WEBUI, PortState.IN_USE)]
    result = evaluate_ports(facts, {(32400, "tcp"): "mediastack-media-plex-1"})
    assert result.status == Status.FAIL
    assert (
        "held by mediastack-media-plex-1" in result.message
        and "in use by another" in result.message
    )


def test_a_bind_address_not_on_this_host_fails() -> None:
    facts = [
        PortFacts(
            PublishedPort("sonarr", "webui", "192.0.2.7", 8989), PortState.ADDRESS_UNAVAILABLE
        )
    ]
    result = evaluate_ports(facts, {})
    assert result.status == Status.FAIL
    assert result.fix is not None and "network.bind_address" in result.fix


def test_an_untestable_port_warns() -> None:
    facts = [
        PortFacts(
            PublishedPort("ntfy", "webui", "0.0.0.0", 80), PortState.UNTESTED, "Permission denied"
        )
    ]
    result = evaluate_ports(facts, {})
    assert result.status == Status.WARN
    assert "could not test 0.0.0.0:80/tcp (ntfy webui): Permission denied" in result.message


# --- secrets -------------------------------------------------------------------------------

ENV = Path("/srv/homelab/.env")


def test_a_private_secrets_file_passes() -> None:
    for mode in (0o600, 0o400):
        assert evaluate_secrets_file(SecretsFileFacts(ENV, True, mode)).status == Status.PASS


def test_a_readable_secrets_file_warns_with_chmod() -> None:
    result = evaluate_secrets_file(SecretsFileFacts(ENV, True, 0o644))
    assert result.status == Status.WARN
    assert "0644" in result.message
    assert result.fix == "chmod 600 /srv/homelab/.env"


def test_a_missing_secrets_file_warns() -> None:
    result = evaluate_secrets_file(SecretsFileFacts(ENV, False))
    assert result.status == Status.WARN
    assert result.fix == "run mediastack init"


KEY = RequiredSecret("WIREGUARD_PRIVATE_KEY", "the WireGuard private key")
API = RequiredSecret("SONARR_API_KEY", "sonarr reads it as SONARR__AUTH__APIKEY")


def test_secrets_with_real_values_pass() -> None:
    values = {"WIREGUARD_PRIVATE_KEY": "abc=", "SONARR_API_KEY": "123"}
    result = evaluate_secret_values([KEY, API], values, ENV)
    assert result.status == Status.PASS


def test_placeholders_and_unset_secrets_warn_naming_each_and_its_purpose() -> None:
    values = {"WIREGUARD_PRIVATE_KEY": "CHANGE_ME_WIREGUARD_PRIVATE_KEY", "SONARR_API_KEY": ""}
    result = evaluate_secret_values([KEY, API], values, ENV)
    assert result.status == Status.WARN
    assert (
        "WIREGUARD_PRIVATE_KEY still holds the init placeholder (the WireGuard private key)"
        in result.message
    )
    assert "SONARR_API_KEY is not set (sonarr reads it as SONARR__AUTH__APIKEY)" in result.message
    assert result.fix is not None and str(ENV) in result.fix


def test_an_unreadable_secrets_file_warns() -> None:
    assert evaluate_secret_values([KEY], None, ENV).status == Status.WARN


# --- what a config asks of the host --------------------------------------------------------


def test_expected_folders_are_the_trash_tree_config_and_backups(make_config: MakeConfig) -> None:
    loaded = make_config()
    data = loaded.data_folder
    assert expected_folders(loaded) == [
        data,
        data / "torrents",
        data / "torrents/movies",
        data / "torrents/tv",
        data / "media",
        data / "media/movies",
        data / "media/tv",
        loaded.config_folder,
        loaded.backups_folder,
    ]


def test_published_ports_follow_bind_address_overrides_and_plex_host_network(
    make_config: MakeConfig,
) -> None:
    loaded = make_config(
        "network: {bind_address: 127.0.0.1}\nservices: {sonarr: {ports: {webui: 18989}}}\n"
    )
    ports = {port.service: port for port in expected_published_ports(loaded)}
    assert ports["sonarr"] == PublishedPort("sonarr", "webui", "127.0.0.1", 18989)
    assert ports["plex"] == PublishedPort("plex", "webui", "0.0.0.0", 32400, host_network=True)
    # Ports that are not published (gluetun's control server, unpackerr metrics) are absent.
    assert "gluetun" not in ports and "unpackerr" not in ports
    assert "jellyfin" not in ports


def test_required_secrets_name_what_each_is_for(make_config: MakeConfig) -> None:
    secrets = {secret.variable: secret.purpose for secret in required_secrets(make_config())}
    assert set(secrets) == {
        "GLUETUN_API_KEY",
        "PROWLARR_API_KEY",
        "RADARR_API_KEY",
        "SEERR_API_KEY",
        "SONARR_API_KEY",
        "WIREGUARD_ADDRESSES",
        "WIREGUARD_PRIVATE_KEY",
    }
    assert "WireGuard private key" in secrets["WIREGUARD_PRIVATE_KEY"]
    assert secrets["SONARR_API_KEY"] == (
        "sonarr reads it as SONARR__AUTH__APIKEY; unpackerr reads it as UN_SONARR_0_API_KEY; "
        "recyclarr reads it as SONARR_API_KEY"
    )
    assert "PLEX_CLAIM" not in secrets  # optional


def test_published_ports_agree_with_what_the_renderer_publishes(make_config: MakeConfig) -> None:
    loaded = make_config(
        "network: {bind_address: 127.0.0.1}\n"
        "services: {sonarr: {ports: {webui: 18989}}, tautulli: {enabled: true}}\n"
    )
    rendered = {
        binding.rsplit(":", 1)[0]
        for definition in loaded.enabled_services()
        if definition.zone not in (Zone.VPN, Zone.HOST)
        for binding in published_ports(loaded, definition)
    }
    expected = {
        f"{port.address}:{port.port}"
        for port in expected_published_ports(loaded)
        if not port.host_network
    }
    assert expected == rendered


def test_the_listener_port_is_checked_while_the_pages_or_the_webhook_are_on(
    make_config: MakeConfig,
) -> None:
    on = make_config("updates: {webhook: {enabled: true, port: 18099}}\n")
    ports = {port.service: port for port in expected_published_ports(on)}
    assert ports["supervisor"] == PublishedPort("supervisor", "webhook", "0.0.0.0", 18099)
    pages_only = {port.service: port for port in expected_published_ports(make_config())}
    assert pages_only["supervisor"].port == 8099  # the status pages are on by default
    off = make_config("status: {enabled: false}\n")
    assert "supervisor" not in {port.service for port in expected_published_ports(off)}
