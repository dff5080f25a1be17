"""A container registry's HTTP API v2, read-only: the current manifest digest of one tag.

One ``HEAD /v2/<repository>/manifests/<tag>`` per image answers "did the tag move?": the
registry's ``Docker-Content-Digest`` header is the digest of whatever the tag points at. The
``Accept`` header lists the multi-platform types (OCI image index, Docker manifest list) as well
as the single-platform ones, so a multi-arch tag answers with its *index* digest: the digest the
engine records in ``RepoDigests`` after a pull by tag. Without the index types a registry
answers with one platform's manifest instead (measured on distribution 2.8: a different digest),
and every multi-arch image would look outdated. A HEAD downloads nothing, and Docker Hub does not
count HEAD requests against its pull rate limit.

Authentication is the anonymous bearer-token flow of Docker Hub, ghcr.io and lscr.io: a 401
carries ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; a token is fetched from the
realm and the HEAD repeated once. The challenge is remembered per registry host, so every later
repository on that host fetches its token first and costs exactly one HEAD; tokens are cached
until they expire. Registries on loopback addresses are spoken to over plain http, as the Docker
engine allows them by default; every other registry over https.

Every request is recorded (``requests``) so callers and benchmarks can count them.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from mediastack.adapters.errors import AdapterError

MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
DIGEST_HEADER = "Docker-Content-Digest"
DEFAULT_TIMEOUT_SECONDS = 15.0
# The token specification's default lifetime when a token server does not say.
DEFAULT_TOKEN_SECONDS = 60
TOKEN_EXPIRY_MARGIN_SECONDS = 10
USER_AGENT = "mediastack-update-check"
MANIFEST_PURPOSE = "manifest"
TOKEN_PURPOSE = "token"
_DIGEST_PATTERN = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_CHALLENGE_PARAMETER = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(AdapterError):
    """A registry could not answer for one image: unreachable, refused, rate limited, or the
    tag does not exist. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, fix: str | None = None, status: int | None = None) -> None:
        super().__init__(message, fix)
        self.status = status


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the client made: ``purpose`` is ``manifest`` or ``token``."""

    method: str
    host: str
    path: str
    status: int
    purpose: str


@dataclass
class RequestLog:
    """Every request a RegistryClient made, in order; thread-safe."""

    entries: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.entries.append(entry)

    def count(self, purpose: str | None = None, method: str | None = None) -> int:
        """Return how many requests had ``purpose`` and ``method`` (None: any)."""
        with self._lock:
            return sum(
                1
                for entry in self.entries
                if (purpose is None or entry.purpose == purpose)
                and (method is None or entry.method == method)
            )

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


@dataclass(frozen=True)
class Challenge:
    """A ``WWW-Authenticate: Bearer`` challenge: where to ask for a token, and for what."""

    realm: str
    service: str | None
    scope: str | None


@dataclass(frozen=True)
class ManifestDigest:
    """What a tag points at: its digest and the manifest's media type (an index or one
    platform's manifest)."""

    digest: str
    media_type: str


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


def parse_challenge(header: str) -> Challenge | None:
    """Given a ``WWW-Authenticate`` header, return its Bearer challenge; None for any other
    scheme (Basic: a login this client does not have) or a Bearer without a realm."""
    scheme, _, parameters = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    values = dict(_CHALLENGE_PARAMETER.findall(parameters))
    realm = values.get("realm")
    if not realm:
        return None
    return Challenge(realm, values.get("service") or None, values.get("scope") or None)


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost``, 127.0.0.0/8 and ::1, with or without a port."""
    if host.startswith("["):
        name = host[1 : host.find("]")]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def pull_scope(repository: str) -> str:
    """Return the token scope for reading ``repository``."""
    return f"repository:{repository}:pull"


class RegistryClient:
    """Asks registries for manifest digests. Thread-safe; reuse one per check so connections,
    challenges and tokens are shared. ``transport`` replaces the network (tests)."""

    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        insecure_hosts: frozenset[str] = frozenset(),
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests = RequestLog()
        self._insecure_hosts = insecure_hosts
        self._monotonic = monotonic
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str | None, str], _Token] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=timeout_seconds,
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def manifest_digest(self, host: str, repository: str, tag: str) -> ManifestDigest:
        """Given a registry API host (``registry-1.docker.io``, ``127.0.0.1:5000``), a
        repository (``library/nginx``) and a tag, return the digest the tag points at now,
        with one HEAD (two when the host's auth challenge is not known yet). Raise
        RegistryError when the registry cannot be reached, refuses, rate-limits, has no such
        tag, or answers without a digest header."""
        url = f"{self._scheme(host)}://{host}/v2/{repository}/manifests/{tag}"
        known = self._known_challenge(host)
        token = self._token(known, repository) if known is not None else None
        response = self._head(url, host, token)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is None:
                raise _unauthorized(host, repository)
            self._remember_challenge(host, challenge)
            response = self._head(url, host, self._token(challenge, repository, fresh=True))
        return _digest_from(response, host, repository, tag)

    def _scheme(self, host: str) -> str:
        return "http" if host in self._insecure_hosts or is_loopback_host(host) else "https"

    def _head(self, url: str, host: str, token: str | None) -> httpx.Response:
        headers = {"Accept": ACCEPT_MANIFESTS}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self._send("HEAD", url, host, MANIFEST_PURPOSE, headers=headers)

    def _send(
        self,
        method: str,
        url: str,
        host: str,
        purpose: str,
        *,
        headers: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, url, headers=headers, params=parameters)
        except httpx.HTTPError as error:
            raise RegistryError(
                f"cannot reach registry {host}: {error}",
                "check the machine's network and DNS, or that the registry is up",
            ) from error
        for hop in (*response.history, response):
            self.requests.add(
                RecordedRequest(
                    method, hop.request.url.host, hop.request.url.path, hop.status_code, purpose
                )
            )
        return response

    def _known_challenge(self, host: str) -> Challenge | None:
        with self._lock:
            return self._challenges.get(host)

    def _remember_challenge(self, host: str, challenge: Challenge) -> None:
        with self._lock:
            self._challenges[host] = challenge

    def _token(self, challenge: Challenge, repository: str, *, fresh: bool = False) -> str:
        """Return a cached, unexpired token for reading ``repository``, or fetch one from the
        challenge's realm (always when ``fresh``: the cached one was refused)."""
        scope = pull_scope(repository)
        key = (challenge.realm, challenge.service, scope)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and not fresh and cached.expires_at > self._monotonic():
            return cached.value
        token = self._fetch_token(challenge, scope)
        with self._lock:
            self._tokens[key] = token
        return token.value

    def _fetch_token(self, challenge: Challenge, scope: str) -> _Token:
        parameters = {"scope": scope}
        if challenge.service is not None:
            parameters["service"] = challenge.service
        realm_host = httpx.URL(challenge.realm).host
        response = self._send(
            "GET",
            challenge.realm,
            realm_host,
            TOKEN_PURPOSE,
            headers={"Accept": "application/json"},
            parameters=parameters,
        )
        if response.status_code != httpx.codes.OK:
            raise RegistryError(
                f"token server {realm_host} answered {response.status_code} for {scope}",
                status=response.status_code,
            )
        return _token_from(response, realm_host, self._monotonic())


def _token_from(response: httpx.Response, realm_host: str, now: float) -> _Token:
    try:
        body = response.json()
        value = body.get("token") or body.get("access_token")
        lifetime = int(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
    except (ValueError, AttributeError, TypeError):
        value, lifetime = None, 0
    if not isinstance(value, str) or not value:
        raise RegistryError(f"token server {realm_host} sent no token")
    return _Token(value, now + max(lifetime - TOKEN_EXPIRY_MARGIN_SECONDS, 1))


def _digest_from(response: httpx.Response, host: str, repository: str, tag: str) -> ManifestDigest:
    status = response.status_code
    name = f"{host}/{repository}:{tag}"
    if status == httpx.codes.OK:
        digest = response.headers.get(DIGEST_HEADER, "").strip()
        if not _DIGEST_PATTERN.match(digest):
            raise RegistryError(
                f"registry {host} sent no {DIGEST_HEADER} header for {name}",
                "this registry cannot be checked without downloading the manifest",
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return ManifestDigest(digest, media_type)
    if status == httpx.codes.UNAUTHORIZED:
        raise _unauthorized(host, repository)
    if status == httpx.codes.NOT_FOUND:
        raise RegistryError(f"{name} does not exist on the registry", status=status)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        retry = response.headers.get("Retry-After", "later")
        raise RegistryError(
            f"registry {host} rate-limits this address (retry after {retry})",
            "wait and check again; checks use HEAD requests only",
            status=status,
        )
    raise RegistryError(f"registry {host} answered {status} for {name}", status=status)


def _unauthorized(host: str, repository: str) -> RegistryError:
    return RegistryError(
        f"registry {host} refuses anonymous access to {repository}",
        "mediastack checks public images anonymously; a private image is reported, not checked",
        status=httpx.codes.UNAUTHORIZED,
    )
