"""The probes against the real host: hardlinks on real (and, as root, really separate)
filesystems, real sockets, real ownership; the engine and compose when they are there."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mediastack.adapters.fakes import RecordingExecutor
from mediastack.doctor import probes
from mediastack.doctor.facts import ComposeFacts, DeviceKind, LinkOutcome, PortState, PublishedPort
from mediastack.doctor.model import Status
from mediastack.doctor.probes import (
    PROBE_FILE_PREFIX,
    ports_held_by,
    probe_device,
    probe_disk,
    probe_folder,
    probe_hardlink,
    probe_port,
    probe_secrets_file,
    read_secret_values,
)
from mediastack.doctor.stack_checks import evaluate_folders, evaluate_hardlinks, evaluate_ports


def data_tree(root: Path) -> tuple[Path, Path]:
    torrents, media = root / "data" / "torrents", root / "data" / "media"
    torrents.mkdir(parents=True)
    media.mkdir(parents=True)
    return torrents, media


def leftovers(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.glob(f"{PROBE_FILE_PREFIX}*")]


# --- hardlinks -----------------------------------------------------------------------------


def test_a_real_hardlink_on_one_filesystem_passes_and_leaves_nothing(tmp_path: Path) -> None:
    torrents, media = data_tree(tmp_path)
    facts = probe_hardlink(torrents, media)
    assert facts.outcome == LinkOutcome.LINKED
    assert evaluate_hardlinks(facts).status == Status.PASS
    assert leftovers(torrents, media) == []


def test_exdev_from_link_fails_with_the_explanation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torrents, media = data_tree(tmp_path)

    def cross_device(source: object, target: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source), None, str(target))

    monkeypatch.setattr(os, "link", cross_device)
    facts = probe_hardlink(torrents, media)
    assert facts.outcome == LinkOutcome.CROSS_DEVICE
    result = evaluate_hardlinks(facts)
    assert result.status == Status.FAIL
    assert "EXDEV" in result.message and "two filesystems or two mounts" in result.message
    assert leftovers(torrents, media) == []


def test_a_refused_link_warns_could_not_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torrents, media = data_tree(tmp_path)

    def refused(source: object, target: object) -> None:
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(source))

    monkeypatch.setattr(os, "link", refused)
    facts = probe_hardlink(torrents, media)
    assert facts.outcome == LinkOutcome.NOT_PERMITTED
    result = evaluate_hardlinks(facts)
    assert result.status == Status.WARN
    assert result.message.startswith("could not test: Operation not permitted")
    assert leftovers(torrents, media) == []


def test_a_hardlink_between_missing_folders_is_not_tested(tmp_path: Path) -> None:
    facts = probe_hardlink(tmp_path / "torrents", tmp_path / "media")
    assert facts.outcome == LinkOutcome.MISSING_FOLDER
    assert evaluate_hardlinks(facts).status == Status.WARN


@contextmanager
def mounted(*arguments: str) -> Iterator[None]:
    """Run ``mount *arguments`` (the last one is the mount point) and unmount afterwards;
    skip the test when this user may not mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a second filesystem needs root")
    completed = subprocess.run(["mount", *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        pytest.skip(f"mount is not permitted here: {completed.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", arguments[-1]], check=True)


def test_a_real_second_filesystem_refuses_the_link(tmp_path: Path) -> None:
    torrents, media = data_tree(tmp_path)
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(media)):
        facts = probe_hardlink(torrents, media)
        assert leftovers(torrents, media) == []
    assert facts.outcome == LinkOutcome.CROSS_DEVICE
    assert evaluate_hardlinks(facts).status == Status.FAIL


def test_a_bind_mount_of_the_same_filesystem_refuses_the_link_despite_equal_st_dev(
    tmp_path: Path,
) -> None:
    torrents, media = data_tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with mounted("--bind", str(elsewhere), str(media)):
        assert os.stat(torrents).st_dev == os.stat(media).st_dev
        facts = probe_hardlink(torrents, media)
    assert facts.outcome == LinkOutcome.CROSS_DEVICE
    assert leftovers(torrents, elsewhere) == []


# --- ports ---------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    """Listen on a free TCP port of 127.0.0.1; yield the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield int(listening.getsockname()[1])


def test_a_port_someone_listens_on_is_in_use(listener: int) -> None:
    published = PublishedPort("qbittorrent", "webui", "127.0.0.1", listener)
    facts = probe_port(published)
    assert facts.state == PortState.IN_USE
    result = evaluate_ports([facts], {})
    assert result.status == Status.FAIL
    assert f"stop what listens on {listener}" in (result.fix or "")
    # The wildcard address collides with it too (docker-proxy binds 0.0.0.0).
    assert probe_port(PublishedPort("x", "webui", "0.0.0.0", listener)).state == PortState.IN_USE


def test_a_port_held_by_this_stack_only_warns(listener: int) -> None:
    facts = probe_port(PublishedPort("qbittorrent", "webui", "127.0.0.1", listener))
    result = evaluate_ports([facts], {(listener, "tcp"): "mediastack-vpn-gluetun-1"})
    assert result.status == Status.WARN


def test_a_free_port_is_free_and_stays_free(listener: int) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = int(probe_socket.getsockname()[1])
    published = PublishedPort("sonarr", "webui", "127.0.0.1", port)
    assert probe_port(published).state == PortState.FREE
    assert probe_port(published).state == PortState.FREE  # the trial bind was released


def test_an_address_not_on_this_host_is_unavailable() -> None:
    # 192.0.2.0/24 is TEST-NET-1: never assigned to a real host.
    facts = probe_port(PublishedPort("sonarr", "webui", "192.0.2.7", 8989))
    assert facts.state == PortState.ADDRESS_UNAVAILABLE


def test_ports_held_by_reads_mappings_and_host_network_services() -> None:
    bridged = {
        "Name": "/mediastack-vpn-gluetun-1",
        "HostConfig": {"NetworkMode": "homelab_media_network"},
        "NetworkSettings": {
            "Ports": {
                "8000/tcp": None,
                "8080/tcp": [
                    {"HostIp": "0.0.0.0", "HostPort": "8080"},
                    {"HostIp": "::", "HostPort": "8080"},
                ],
                "5353/udp": [{"HostIp": "127.0.0.1", "HostPort": "15353"}],
            }
        },
    }
    assert ports_held_by(bridged) == {
        (8080, "tcp"): "mediastack-vpn-gluetun-1",
        (15353, "udp"): "mediastack-vpn-gluetun-1",
    }
    host = {
        "Name": "/mediastack-media-plex-1",
        "HostConfig": {"NetworkMode": "host"},
        "Config": {"Labels": {"com.docker.compose.service": "plex"}},
        "NetworkSettings": {"Ports": {}},
    }
    assert ports_held_by(host) == {(32400, "tcp"): "mediastack-media-plex-1"}


# --- files ---------------------------------------------------------------------------------


def test_a_folder_owned_by_someone_else_warns_with_chown(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    facts = probe_folder(data)
    assert (facts.owner_uid, facts.owner_gid) == (os.getuid(), os.getgid())
    other_uid, other_gid = os.getuid() + 4242, os.getgid() + 4242
    result = evaluate_folders([facts], other_uid, other_gid)
    assert result.status == Status.WARN
    assert result.fix == f"sudo chown -R {other_uid}:{other_gid} {data}"


def test_a_folder_chowned_to_puid_pgid_passes(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 1000, 1000)
    assert evaluate_folders([probe_folder(data)], 1000, 1000).status == Status.PASS
    assert evaluate_folders([probe_folder(data)], 0, 0).status == Status.WARN


def test_a_missing_folder_and_a_file_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert probe_folder(tmp_path / "absent").exists is False
    facts = probe_folder(tmp_path / "file")
    assert (facts.exists, facts.is_directory) == (True, False)


def test_probe_device_tells_a_character_device_from_a_file_and_nothing(tmp_path: Path) -> None:
    assert probe_device(Path("/dev/null")).kind == DeviceKind.CHARACTER_DEVICE
    (tmp_path / "tun").write_text("")
    assert probe_device(tmp_path / "tun").kind == DeviceKind.OTHER
    assert probe_device(tmp_path / "absent").kind == DeviceKind.MISSING


def test_disk_of_a_folder_not_yet_made_is_measured_at_its_parent(tmp_path: Path) -> None:
    facts = probe_disk(tmp_path / "data" / "media")
    assert facts.measured_at == tmp_path
    assert facts.total_bytes and facts.free_bytes is not None


def test_the_secrets_file_mode_and_values_are_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert probe_secrets_file(env).exists is False
    assert read_secret_values(env) == {}
    env.write_text("A=1\nB=CHANGE_ME_B\n")
    env.chmod(0o640)
    assert probe_secrets_file(env).mode == 0o640
    assert read_secret_values(env) == {"A": "1", "B": "CHANGE_ME_B"}


# --- engine and compose (only when there) --------------------------------------------------


def test_the_real_engine_and_compose_probes_when_an_engine_is_reachable() -> None:
    engine = probes.probe_engine()
    if not engine.reachable:
        pytest.skip(f"no Docker engine reachable: {engine.error}")
    assert engine.version and engine.api_version
    compose = probes.probe_compose()
    if not compose.available:
        pytest.skip(f"no Compose v2: {compose.error}")
    assert compose.version and compose.version.lstrip("v")[0].isdigit()
    # The engine answers, so who holds ports can be asked (the answer may be empty).
    assert probes.probe_stack_port_holders(["mediastack-doctor-test-none"]) == {}


def test_an_unreachable_engine_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    facts = probes.probe_engine()
    assert facts.reachable is False and facts.error
    assert probes.probe_stack_port_holders(["anything"]) is None


def test_compose_is_asked_through_the_executor_and_its_answers_become_facts() -> None:
    executor = RecordingExecutor()
    executor.respond("compose", "version", stdout="2.40.3\n")
    assert probes.probe_compose(executor) == ComposeFacts(available=True, version="2.40.3")
    assert executor.commands == [("docker", "compose", "version", "--short")]
    no_plugin = RecordingExecutor()
    no_plugin.respond("compose", stderr="docker: 'compose' is not a docker command.", exit_code=1)
    facts = probes.probe_compose(no_plugin)
    assert facts.available is False
    assert facts.error == "docker compose is not installed (or not on PATH)"


def test_compose_without_a_docker_cli_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    facts = probes.probe_compose()
    assert facts.available is False
    assert facts.error == "no `docker` command on PATH"
