"""Engine, compose, /dev/net/tun and free disk: every verdict from observed facts alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediastack.doctor.facts import ComposeFacts, DeviceFacts, DeviceKind, DiskFacts, EngineFacts
from mediastack.doctor.host_checks import (
    GIB,
    evaluate_compose,
    evaluate_config_disk,
    evaluate_data_disk,
    evaluate_engine,
    evaluate_tun,
    parse_version,
)
from mediastack.doctor.model import Status

TUN = Path("/dev/net/tun")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20.10.24+dfsg1", (20, 10)),
        ("v2.40.3", (2, 40)),
        ("2.20.2-desktop.1", (2, 20)),
        ("28.2.2", (28, 2)),
        ("dev", None),
        ("", None),
        (None, None),
    ],
)
def test_versions_are_read_from_their_leading_numbers(
    text: str | None, expected: tuple[int, int] | None
) -> None:
    assert parse_version(text) == expected


def test_an_unreachable_engine_fails_with_how_to_start_it() -> None:
    result = evaluate_engine(EngineFacts(reachable=False, error="connection refused"))
    assert result.status == Status.FAIL
    assert "connection refused" in result.message
    assert result.fix is not None
    for hint in ("start dockerd", "systemctl start docker", "DOCKER_HOST"):
        assert hint in result.fix


def test_an_engine_older_than_20_10_warns() -> None:
    result = evaluate_engine(EngineFacts(reachable=True, version="19.03.15", api_version="1.40"))
    assert result.status == Status.WARN
    assert "19.03.15" in result.message
    assert result.fix is not None and "20.10" in result.fix


def test_an_engine_with_an_unreadable_version_warns() -> None:
    result = evaluate_engine(EngineFacts(reachable=True, version="nightly", api_version="1.41"))
    assert result.status == Status.WARN


@pytest.mark.parametrize("version", ["20.10.24+dfsg1", "28.2.2"])
def test_an_engine_from_20_10_on_passes_with_its_version(version: str) -> None:
    result = evaluate_engine(EngineFacts(reachable=True, version=version, api_version="1.41"))
    assert result.status == Status.PASS
    assert version in result.message and result.fix is None


def test_missing_compose_fails_with_how_to_install_the_plugin() -> None:
    error = "docker: 'compose' is not a docker command."
    result = evaluate_compose(ComposeFacts(available=False, error=error))
    assert result.status == Status.FAIL
    assert error in result.message
    assert result.fix is not None and "cli-plugins/docker-compose" in result.fix


def test_compose_v1_fails() -> None:
    result = evaluate_compose(ComposeFacts(available=True, version="1.29.2"))
    assert result.status == Status.FAIL


def test_compose_older_than_2_20_warns_and_says_why() -> None:
    result = evaluate_compose(ComposeFacts(available=True, version="v2.17.3"))
    assert result.status == Status.WARN
    assert "restart: true" in result.message and "--wait" in result.message


def test_compose_with_an_unreadable_version_warns() -> None:
    assert evaluate_compose(ComposeFacts(available=True, version=None)).status == Status.WARN


def test_compose_from_2_20_on_passes() -> None:
    result = evaluate_compose(ComposeFacts(available=True, version="v2.40.3"))
    assert (result.status, result.message) == (Status.PASS, "Compose v2.40.3")


def test_a_tun_character_device_passes() -> None:
    result = evaluate_tun(DeviceFacts(TUN, DeviceKind.CHARACTER_DEVICE))
    assert result.status == Status.PASS


def test_a_missing_tun_device_fails_because_gluetun_cannot_start() -> None:
    result = evaluate_tun(DeviceFacts(TUN, DeviceKind.MISSING))
    assert result.status == Status.FAIL
    assert "gluetun" in result.message
    assert result.fix is not None
    assert "modprobe tun" in result.fix and "mknod /dev/net/tun c 10 200" in result.fix


def test_a_tun_path_that_is_not_a_character_device_fails() -> None:
    result = evaluate_tun(DeviceFacts(TUN, DeviceKind.OTHER))
    assert result.status == Status.FAIL
    assert "not a character device" in result.message


def test_an_uninspectable_tun_device_warns_instead_of_failing() -> None:
    result = evaluate_tun(DeviceFacts(TUN, DeviceKind.UNREADABLE, error="Permission denied"))
    assert result.status == Status.WARN
    assert "Permission denied" in result.message


def disk(free_gib: float, total_gib: float = 1000) -> DiskFacts:
    folder = Path("/srv/homelab/data")
    return DiskFacts(folder, folder, int(total_gib * GIB), int(free_gib * GIB))


@pytest.mark.parametrize(
    ("free_gib", "total_gib", "status"),
    [
        (0.5, 1000, Status.FAIL),  # under 1 GiB
        (5, 50, Status.WARN),  # under 10 GiB (though 10%)
        (40, 1000, Status.WARN),  # 40 GiB but under 5%
        (60, 1000, Status.PASS),  # 6%
        (11, 100, Status.PASS),
    ],
)
def test_data_disk_thresholds(free_gib: float, total_gib: float, status: Status) -> None:
    result = evaluate_data_disk(disk(free_gib, total_gib))
    assert result.status == status
    assert (result.fix is None) == (status == Status.PASS)


@pytest.mark.parametrize(
    ("free_gib", "status"),
    [(0.5, Status.FAIL), (1.5, Status.WARN), (2.5, Status.PASS)],
)
def test_config_disk_thresholds(free_gib: float, status: Status) -> None:
    # 2.5 GiB of 1000 is 0.25%: the 5% rule is for the data folder only.
    assert evaluate_config_disk(disk(free_gib)).status == status


def test_unmeasurable_disk_warns() -> None:
    folder = Path("/srv/homelab/data")
    facts = DiskFacts(folder, folder, error="Permission denied")
    for evaluate in (evaluate_data_disk, evaluate_config_disk):
        result = evaluate(facts)
        assert result.status == Status.WARN
        assert "Permission denied" in result.message


def test_disk_messages_say_how_much_is_free() -> None:
    result = evaluate_data_disk(disk(60, 1000))
    assert result.message == "60.0 GiB free of 1000.0 GiB (6%) at /srv/homelab/data"
