"""Which running services the check looks at, what it asks the registry, and what it says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from updates_support import (
    FakeDocker,
    FakeImage,
    FakeLocalImages,
    FakeLookup,
    check_target,
    digest,
    image_id,
    service_image,
    vpn_project,
)

from mediastack.adapters.errors import EngineError
from mediastack.adapters.registry import RegistryError
from mediastack.stack.rendered import RenderedService
from mediastack.updates.check import check_images, running_service_images
from mediastack.updates.local_images import LocalImage
from mediastack.updates.model import CheckStatus, Policy

SONARR = "lscr.io/linuxserver/sonarr:latest"


def running_lab() -> FakeDocker:
    docker = FakeDocker(vpn_project())
    docker.add_image(FakeImage(image_id("0"), []), "qmcgaw/gluetun:v3")
    docker.add_image(
        FakeImage(image_id("1"), [f"lscr.io/linuxserver/qbittorrent@{digest('q')}"]),
        "lscr.io/linuxserver/qbittorrent:latest",
    )
    docker.add_image(
        FakeImage(image_id("2"), [f"lscr.io/linuxserver/sonarr@{digest('s')}"]), SONARR
    )
    for service in ("gluetun", "qbittorrent", "sonarr"):
        docker.run_service(service)
    return docker


def test_running_services_come_with_their_image_policy_and_namespace() -> None:
    docker = running_lab()
    images = running_service_images(
        [check_target(docker.project, sonarr=Policy.NOTIFY)], docker, docker.local_images
    )
    by_name = {image.key.service: image for image in images}
    assert list(by_name) == ["gluetun", "qbittorrent", "sonarr"]
    sonarr = by_name["sonarr"]
    assert (sonarr.image_id, sonarr.local_digests, sonarr.policy) == (
        image_id("2"),
        frozenset({digest("s")}),
        Policy.NOTIFY,
    )
    assert sonarr.namespace_owner == "gluetun"
    assert by_name["gluetun"].namespace_dependents == ("qbittorrent", "sonarr")
    assert by_name["gluetun"].local_digests == frozenset()
    inspections = [c for c in docker.image_calls if c[0] == "container_image_ids"]
    assert len(inspections) == 1  # every container in one call


def test_the_compose_image_label_saves_the_container_inspection() -> None:
    docker = running_lab()
    for name, container in list(docker.containers.items()):
        labels = {
            **container.labels,
            "com.docker.compose.image": docker.container_images[container.id],
        }
        docker.containers[name] = replace(container, labels=labels)
    images = running_service_images([check_target(docker.project)], docker, docker.local_images)
    assert len(images) == 3
    assert not [c for c in docker.image_calls if c[0] == "container_image_ids" and c[1:]]


def test_stopped_services_and_other_services_are_left_out() -> None:
    docker = running_lab()
    docker.containers["qbittorrent"] = replace(docker.containers["qbittorrent"], status="exited")
    images = running_service_images(
        [check_target(docker.project)],
        docker,
        docker.local_images,
        frozenset({"qbittorrent", "sonarr"}),
    )
    assert [image.key.service for image in images] == ["sonarr"]


def test_statuses_and_one_lookup_per_distinct_image() -> None:
    lookup = FakeLookup(
        {
            ("lscr.io", "linuxserver/sonarr", "latest"): digest("1"),
            ("lscr.io", "linuxserver/radarr", "latest"): digest("9"),
            ("ghcr.io", "a/broken", "1"): RegistryError("registry ghcr.io answered 500"),
        }
    )
    images = [
        service_image("sonarr", SONARR, local=[digest("1")]),
        service_image("sonarr-copy", SONARR, local=[digest("1")]),
        service_image("radarr", "lscr.io/linuxserver/radarr:latest", local=[digest("1")]),
        service_image("built", "mediastack/supervisor:0.1.0", local=[]),
        service_image("pinned", f"nginx@{digest('7')}", local=[digest("7")]),
        service_image("broken", "ghcr.io/a/broken:1", local=[digest("1")]),
    ]
    results = check_images(images, lookup)
    assert [(r.service, r.status) for r in results] == [
        ("sonarr", CheckStatus.UP_TO_DATE),
        ("sonarr-copy", CheckStatus.UP_TO_DATE),
        ("radarr", CheckStatus.OUTDATED),
        ("built", CheckStatus.LOCAL_ONLY),
        ("pinned", CheckStatus.PINNED_BY_DIGEST),
        ("broken", CheckStatus.ERROR),
    ]
    assert sorted(lookup.calls) == [
        ("ghcr.io", "a/broken", "1"),
        ("lscr.io", "linuxserver/radarr", "latest"),
        ("lscr.io", "linuxserver/sonarr", "latest"),
    ]
    assert results[2].remote_digest == digest("9")
    assert results[5].detail == "registry ghcr.io answered 500"


def test_an_index_digest_among_several_repo_digests_is_up_to_date() -> None:
    """The same image pulled by two tags of one repository carries two digests; either one
    being what the tag serves now means up to date."""
    lookup = FakeLookup({("registry-1.docker.io", "library/nginx", "latest"): digest("i")})
    image = service_image("web", "nginx", local=[digest("p"), digest("i")])
    (result,) = check_images([image], lookup)
    assert result.status == CheckStatus.UP_TO_DATE


def test_a_compose_file_without_an_image_is_not_checked() -> None:
    docker = running_lab()
    project = vpn_project(RenderedService("gluetun", None, "gluetun", None))
    docker.project = project
    assert running_service_images([check_target(project)], docker, docker.local_images) == []


def test_no_lookup_at_all_when_nothing_came_from_a_registry() -> None:
    lookup = FakeLookup({})
    results = check_images(
        [service_image("built", "mediastack/supervisor:0.1.0", local=[])], lookup
    )
    assert lookup.calls == [] and results[0].status == CheckStatus.LOCAL_ONLY
    assert results[0].to_json()["status"] == "local_only"


def test_an_image_store_that_cannot_be_read_fails_the_check_instead_of_emptying_it() -> None:
    """Through the docker CLI an unreadable store read as "no images" and every update was a
    silent no-op (issue 9); now the adapter's error goes out to the caller."""
    docker = running_lab()

    class Forbidden(FakeLocalImages):
        def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
            raise EngineError("GET /v1.41/images/x/json answered 403: forbidden")

    with pytest.raises(EngineError, match="403"):
        running_service_images([check_target(docker.project)], docker, Forbidden(docker))
