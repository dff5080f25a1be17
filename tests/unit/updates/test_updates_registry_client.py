"""The registry client against scripted registries (httpx.MockTransport): one HEAD per image,
the Accept header, the anonymous bearer-token flow of Docker Hub / ghcr.io / lscr.io with
challenges and tokens cached, and every failure as a RegistryError."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mediastack.adapters.registry import (
    MANIFEST_MEDIA_TYPES,
    MANIFEST_PURPOSE,
    TOKEN_PURPOSE,
    RegistryClient,
    RegistryError,
    is_loopback_host,
    parse_challenge,
)

INDEX = "application/vnd.oci.image.index.v1+json"
DIGEST = "sha256:" + "d" * 64
HUB_CHALLENGE = (
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'scope="repository:{repository}:pull"'
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hub(
    seen: list[httpx.Request], *, lifetime: int = 300
) -> Callable[[httpx.Request], httpx.Response]:
    """A registry that wants a bearer token for the repository it is asked about."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.docker.io":
            scope = request.url.params["scope"]
            return httpx.Response(200, json={"token": f"token-for-{scope}", "expires_in": lifetime})
        repository = request.url.path.removeprefix("/v2/").split("/manifests/")[0]
        wanted = f"Bearer token-for-repository:{repository}:pull"
        if request.headers.get("Authorization") != wanted:
            challenge = HUB_CHALLENGE.format(repository=repository)
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST, "Content-Type": INDEX})

    return handle


def test_a_registry_without_auth_costs_one_head_with_every_manifest_type_accepted() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST, "Content-Type": INDEX})

    with RegistryClient(transport=httpx.MockTransport(handle)) as client:
        answer = client.manifest_digest("127.0.0.1:5000", "mediastack/sonarr", "stable")
        assert client.requests.count() == 1
    (request,) = seen
    assert request.method == "HEAD"
    assert str(request.url) == "http://127.0.0.1:5000/v2/mediastack/sonarr/manifests/stable"
    assert all(media_type in request.headers["Accept"] for media_type in MANIFEST_MEDIA_TYPES)
    assert (answer.digest, answer.media_type) == (DIGEST, INDEX)


def test_the_token_flow_learns_the_challenge_once_per_host_and_caches_tokens() -> None:
    seen: list[httpx.Request] = []
    with RegistryClient(transport=httpx.MockTransport(hub(seen))) as client:
        client.manifest_digest("registry-1.docker.io", "library/nginx", "latest")
        first = [(r.method, r.url.host) for r in seen]
        seen.clear()
        client.manifest_digest("registry-1.docker.io", "qmcgaw/gluetun", "v3")
        second = [(r.method, r.url.host) for r in seen]
        seen.clear()
        client.manifest_digest("registry-1.docker.io", "qmcgaw/gluetun", "v3")
        third = [(r.method, r.url.host) for r in seen]
        heads = client.requests.count(MANIFEST_PURPOSE, "HEAD")
        tokens = client.requests.count(TOKEN_PURPOSE)
    hub_api, auth = "registry-1.docker.io", "auth.docker.io"
    assert first == [("HEAD", hub_api), ("GET", auth), ("HEAD", hub_api)]
    assert second == [("GET", auth), ("HEAD", hub_api)]  # challenge known: no 401 round trip
    assert third == [("HEAD", hub_api)]  # token cached
    assert (heads, tokens) == (4, 2)


def test_the_token_request_names_service_and_scope() -> None:
    seen: list[httpx.Request] = []
    with RegistryClient(transport=httpx.MockTransport(hub(seen))) as client:
        client.manifest_digest("registry-1.docker.io", "library/nginx", "latest")
    token_request = seen[1]
    assert token_request.url.scheme == "https"
    assert dict(token_request.url.params) == {
        "scope": "repository:library/nginx:pull",
        "service": "registry.docker.io",
    }


def test_an_expired_token_is_fetched_again() -> None:
    seen: list[httpx.Request] = []
    clock = Clock()
    with RegistryClient(
        transport=httpx.MockTransport(hub(seen, lifetime=60)), monotonic=clock
    ) as client:
        client.manifest_digest("registry-1.docker.io", "library/nginx", "latest")
        clock.now += 55  # within 10 s of the expiry: refreshed early
        seen.clear()
        client.manifest_digest("registry-1.docker.io", "library/nginx", "latest")
    assert [r.method for r in seen] == ["GET", "HEAD"]


def test_lscr_challenges_point_at_ghcr_tokens() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "ghcr.io":
            return httpx.Response(200, json={"token": "ghcr-anonymous"})
        if request.headers.get("Authorization") == "Bearer ghcr-anonymous":
            return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})
        challenge = (
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",'
            'scope="repository:linuxserver/sonarr:pull"'
        )
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    with RegistryClient(transport=httpx.MockTransport(handle)) as client:
        answer = client.manifest_digest("lscr.io", "linuxserver/sonarr", "latest")
    assert answer.digest == DIGEST
    assert [(r.method, r.url.host) for r in seen] == [
        ("HEAD", "lscr.io"),
        ("GET", "ghcr.io"),
        ("HEAD", "lscr.io"),
    ]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(404), "does not exist"),
        (httpx.Response(429, headers={"Retry-After": "30"}), "rate-limits"),
        (httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'}), "anonymous"),
        (httpx.Response(200), "no Docker-Content-Digest"),
        (httpx.Response(200, headers={"Docker-Content-Digest": "md5:abc"}), "no Docker-Content"),
        (httpx.Response(500), "answered 500"),
    ],
)
def test_failures_are_registry_errors(response: httpx.Response, message: str) -> None:
    transport = httpx.MockTransport(lambda request: response)
    with RegistryClient(transport=transport) as client, pytest.raises(RegistryError, match=message):
        client.manifest_digest("ghcr.io", "a/b", "1")


def test_a_private_image_is_refused_after_a_token() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.docker.io":
            return httpx.Response(200, json={"token": "anonymous"})
        return httpx.Response(
            401, headers={"WWW-Authenticate": HUB_CHALLENGE.format(repository="me/private")}
        )

    transport = httpx.MockTransport(handle)
    with (
        RegistryClient(transport=transport) as client,
        pytest.raises(RegistryError, match="refuses anonymous access") as raised,
    ):
        client.manifest_digest("registry-1.docker.io", "me/private", "latest")
    assert raised.value.status == 401


def test_an_unreachable_registry_is_a_registry_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(handle)
    with (
        RegistryClient(transport=transport) as client,
        pytest.raises(RegistryError, match=r"cannot reach registry ghcr\.io"),
    ):
        client.manifest_digest("ghcr.io", "a/b", "1")


def test_a_token_server_without_a_token_is_an_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.docker.io":
            return httpx.Response(200, json={"nothing": True})
        return httpx.Response(
            401, headers={"WWW-Authenticate": HUB_CHALLENGE.format(repository="a/b")}
        )

    transport = httpx.MockTransport(handle)
    with (
        RegistryClient(transport=transport) as client,
        pytest.raises(RegistryError, match="sent no token"),
    ):
        client.manifest_digest("registry-1.docker.io", "a/b", "1")


def test_challenges_are_parsed_and_non_bearer_ones_refused() -> None:
    challenge = parse_challenge(HUB_CHALLENGE.format(repository="library/nginx"))
    assert challenge is not None
    assert (challenge.realm, challenge.service, challenge.scope) == (
        "https://auth.docker.io/token",
        "registry.docker.io",
        "repository:library/nginx:pull",
    )
    assert parse_challenge('Basic realm="registry"') is None
    assert parse_challenge('Bearer service="x"') is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("ghcr.io", False),
        ("192.168.1.2:5000", False),
    ],
)
def test_loopback_registries_are_spoken_to_over_http(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
