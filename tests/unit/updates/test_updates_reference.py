"""Image references normalised as the engine does, and RepoDigests matched per repository."""

from __future__ import annotations

import pytest

from mediastack.updates.reference import (
    ImageReference,
    parse_image_reference,
    repository_digests,
)

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "api_host"),
    [
        ("nginx", "docker.io", "library/nginx", "latest", "registry-1.docker.io"),
        ("qmcgaw/gluetun:v3", "docker.io", "qmcgaw/gluetun", "v3", "registry-1.docker.io"),
        (
            "docker.io/library/nginx:1.27",
            "docker.io",
            "library/nginx",
            "1.27",
            "registry-1.docker.io",
        ),
        (
            "index.docker.io/qmcgaw/gluetun",
            "docker.io",
            "qmcgaw/gluetun",
            "latest",
            "registry-1.docker.io",
        ),
        ("lscr.io/linuxserver/sonarr:latest", "lscr.io", "linuxserver/sonarr", "latest", "lscr.io"),
        ("ghcr.io/hotio/unpackerr:release", "ghcr.io", "hotio/unpackerr", "release", "ghcr.io"),
        (
            "127.0.0.1:5000/mediastack/sonarr:stable",
            "127.0.0.1:5000",
            "mediastack/sonarr",
            "stable",
            "127.0.0.1:5000",
        ),
        ("localhost/app", "localhost", "app", "latest", "localhost"),
    ],
)
def test_references_are_normalised_like_the_engine(
    text: str, registry: str, repository: str, tag: str, api_host: str
) -> None:
    reference = parse_image_reference(text)
    assert (reference.registry, reference.repository, reference.tag) == (registry, repository, tag)
    assert reference.api_host == api_host
    assert not reference.pinned_by_digest


def test_familiar_names_are_those_repo_digests_use() -> None:
    assert parse_image_reference("docker.io/library/nginx").familiar_name == "nginx"
    assert parse_image_reference("qmcgaw/gluetun:v3").familiar_name == "qmcgaw/gluetun"
    assert str(parse_image_reference("lscr.io/linuxserver/sonarr")) == (
        "lscr.io/linuxserver/sonarr:latest"
    )


def test_a_digest_reference_is_pinned_and_has_no_default_tag() -> None:
    reference = parse_image_reference(f"nginx@{DIGEST}")
    assert reference.pinned_by_digest and reference.tag is None
    assert parse_image_reference(f"nginx:1.27@{DIGEST}").tag == "1.27"


@pytest.mark.parametrize(
    "text", ["", "UPPER/case", "nginx:bad tag", "nginx@sha256:short", "a//b", "-lead/x"]
)
def test_invalid_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_image_reference(text)


def test_repo_digests_are_matched_by_repository_not_by_text() -> None:
    recorded = [
        f"nginx@{DIGEST}",
        f"docker.io/library/nginx@{OTHER}",
        f"mirror.example/library/nginx@{'sha256:' + 'c' * 64}",
        "garbage",
    ]
    hub_nginx = parse_image_reference("nginx:latest")
    assert repository_digests(hub_nginx, recorded) == {DIGEST, OTHER}
    local = parse_image_reference("127.0.0.1:5000/app:v1")
    assert repository_digests(local, [f"127.0.0.1:5000/app@{DIGEST}", f"app@{OTHER}"]) == {DIGEST}


def test_same_repository_ignores_tags() -> None:
    first = ImageReference("ghcr.io", "a/b", "1")
    assert first.same_repository(ImageReference("ghcr.io", "a/b", "2"))
    assert not first.same_repository(ImageReference("lscr.io", "a/b", "1"))
