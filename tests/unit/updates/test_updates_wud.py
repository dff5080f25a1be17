"""WUD's HTTP trigger payloads (fixtures shaped exactly like WUD's) parsed and mapped."""

from __future__ import annotations

import json

import pytest
from updates_support import FIXTURES, vpn_project

from mediastack.stack.rendered import RenderedService
from mediastack.updates.wud import PayloadError, ServiceDirectory, parse_wud_payload


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def directory() -> ServiceDirectory:
    return ServiceDirectory(
        [
            vpn_project(
                RenderedService("gluetun", "qmcgaw/gluetun:v3", "gluetun", None),
                RenderedService("sonarr", "lscr.io/linuxserver/sonarr", "vpn", "service:gluetun"),
                RenderedService("radarr", "lscr.io/linuxserver/radarr", "vpn", "service:gluetun"),
            )
        ]
    )


def test_simple_mode_is_one_container_with_every_field_read() -> None:
    (container,) = parse_wud_payload(fixture("wud-simple.json"))
    assert container.name == "home-vpn-sonarr-1"
    assert container.image.registry.name == "lscr.public"
    assert container.image.registry.url == "https://lscr.io/v2"
    assert (container.image.name, container.image.tag.value) == ("linuxserver/sonarr", "latest")
    assert container.image.digest is not None and container.image.digest.value is not None
    assert container.result is not None and container.result.digest is not None
    assert container.update_available
    assert container.update_kind is not None and container.update_kind.kind == "digest"
    assert container.update_kind.remote_value == container.result.digest


def test_batch_mode_is_an_array() -> None:
    containers = parse_wud_payload(fixture("wud-batch.json"))
    assert [c.name for c in containers] == [
        "home-vpn-gluetun-1",
        "home-vpn-cross-seed-1",
        "portainer",
    ]
    kind = containers[1].update_kind
    assert kind is not None and (kind.kind, kind.semver_diff, kind.remote_value) == (
        "tag",
        "minor",
        "6.12.0",
    )


def test_containers_map_by_compose_labels_then_by_name(directory: ServiceDirectory) -> None:
    batch = parse_wud_payload(fixture("wud-batch.json"))
    resolved = [directory.resolve(container) for container in batch]
    assert [(r.service, r.reason) for r in resolved] == [
        ("gluetun", "queued"),
        (None, "not a service of the rendered stacks"),  # cross-seed is not rendered here
        (None, "not a service of the rendered stacks"),
    ]
    (simple,) = parse_wud_payload(fixture("wud-simple.json"))
    no_labels = simple.model_copy(update={"labels": None})
    assert directory.resolve(no_labels).service == "sonarr"  # by container name


def test_no_update_available_is_ignored(directory: ServiceDirectory) -> None:
    (container,) = parse_wud_payload(fixture("wud-no-update.json"))
    assert directory.resolve(container).reason == "no update available"


def test_payload_strings_never_become_service_names(directory: ServiceDirectory) -> None:
    payload = json.loads(fixture("wud-simple.json"))
    payload["labels"] = {
        "com.docker.compose.project": "home-vpn",
        "com.docker.compose.service": "sonarr; docker rm -f $(docker ps -q)",
    }
    payload["name"] = "home-vpn-sonarr-1 --privileged"
    (container,) = parse_wud_payload(json.dumps(payload).encode())
    assert directory.resolve(container).service is None
    payload["labels"]["com.docker.compose.project"] = "other-project"
    payload["labels"]["com.docker.compose.service"] = "sonarr"
    (container,) = parse_wud_payload(json.dumps(payload).encode())
    assert directory.resolve(container).service is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "expected 1 to 500"),
        (b"42", "container 0"),
        (b'{"name": "x"}', "container 0: image"),
        (b'{"name": "", "image": {}}', "container 0"),
        (json.dumps([{"name": "x"}] * 501).encode(), "expected 1 to 500"),
    ],
)
def test_malformed_payloads_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_wud_payload(body)


def test_wrong_types_are_refused() -> None:
    payload = json.loads(fixture("wud-simple.json"))
    payload["image"]["tag"] = {"value": ["latest"]}
    with pytest.raises(PayloadError, match=r"image\.tag\.value"):
        parse_wud_payload(json.dumps(payload).encode())
    payload = json.loads(fixture("wud-simple.json"))
    payload["updateKind"] = {"kind": "everything"}
    with pytest.raises(PayloadError, match="updateKind"):
        parse_wud_payload(json.dumps(payload).encode())
