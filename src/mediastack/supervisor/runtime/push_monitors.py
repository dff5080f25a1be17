"""Push monitors' contracts (issue 12): their URLs read from the .env variable, each URL's
kind, the request each kind wants for a verdict, and what its answer means. Pure: no I/O, no
clock (``push_pings`` sends, ``push_transport`` is the HTTP client).

Kinds, as their servers implement them (read from their sources, 2026):

- **healthchecks** (healthchecks.io, hosted at ``https://hc-ping.com/``, or self-hosted under
  ``<site>/ping/``): ``<uuid>`` or ``<ping-key>/<slug>``, ``/fail`` appended for a failure
  (``/start``, ``/log``, ``/<exit status 0-255>`` exist too; not used). HEAD, GET and POST
  are pings; a POST's body is stored as the ping's log (the first 100 kB on hc-ping.com, the
  first ``PING_BODY_LIMIT``, 10 kB by default, self-hosted). ``200 OK`` with ``OK``, ``201
  Created`` for an auto-provisioned slug (``?create=1``); ``404 not found`` for an unknown
  check, ``409 ambiguous slug``, ``400 invalid url format``. A check may be set to take POST
  only: a GET to it is recorded as *ignored*, not as a ping (``hc/api/views.py`` ``ping``,
  ``check.methods == "POST"``), so every ping here is a POST, with the reason as its log.
  More than 5 pings a minute to one check may be rate limited (dropped; by UUID still
  answered 200, by slug 429).
  Sources: https://healthchecks.io/docs/http_api/ , /docs/signaling_failures/ ,
  /docs/attaching_logs/ , /docs/reliability_tips/ ; healthchecks/healthchecks v4.3-78
  (29b5ec25) ``hc/api/urls.py``, ``hc/api/views.py`` (``ping``, ``ping_by_slug``),
  ``hc/settings.py`` (``PING_ENDPOINT``, ``PING_BODY_LIMIT``), ``templates/docs/http_api.md``.
- **uptime_kuma** (a Push monitor): ``<base>/api/push/<pushToken>`` (the UI gives the URL
  with ``?status=up&msg=OK&ping=``; a token is 32 letters and digits). ``status`` is ``up``
  or anything else (down; default up), ``msg`` the heartbeat's message (default ``OK``),
  ``ping`` an optional number of ms. Answers ``{"ok":true}``; an unknown or paused token (or
  a bad ``ping``) is ``404 {"ok":false,"msg":"Monitor not found or not active."}``. 1.23
  routes GET only, 2.x every method: GET here. With retries > 0, 2.x shows a down push as
  *pending* until the retries are used (louislam/uptime-kuma#6406).
  Sources: louislam/uptime-kuma 2.5.3 (6398a958) ``server/routers/api-router.js`` (route
  ``/api/push/:pushToken``), ``src/pages/EditMonitor.vue`` (``pushURL``, ``pushTokenLength``),
  ``src/util.ts`` (``genSecret``); 1.23.0 the same route (``router.get``, 404 since 4fdaa1ab,
  "Response 404 if error", 2022); https://github.com/louislam/uptime-kuma/wiki/Internal-API .
- **generic**: anything else: a plain GET when healthy, nothing when not (its monitor alerts
  on the silence).

The secret of a push URL is in its path (the UUID, the ping key, the push token): a URL is
never logged, only its kind and host (``PushTarget.host``), and ``short_message`` takes every
secret part out of what is sent.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MESSAGE_LIMIT = 200
"""At most this many characters of reason in a ping (Kuma shows it in its list of beats)."""
SHORTEST_SECRET = 4
"""Shorter pieces are not redacted from a message: they would mangle ordinary words."""
MASK = "***"
GENERIC_SECRET = 8
"""A generic URL's path segments and query values this long count as its secrets."""

HEALTHCHECKS_HOST = "hc-ping.com"
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_SLUG = r"[-A-Za-z0-9_]+"  # Django's slug converter, as hc/api/urls.py routes ping keys and slugs
_ACTIONS = re.compile(r"^(fail|start|log|[0-9]+)$")
_UUID_ONLY = re.compile(rf"^{_UUID}$")
_HEALTHCHECKS_ROOT = re.compile(rf"^/(?:(?P<uuid>{_UUID})|(?P<key>{_SLUG})/(?P<slug>{_SLUG}))/?$")
_HEALTHCHECKS_UNDER_PING = re.compile(
    rf"^(?:/.*)?/ping/(?:(?P<uuid>{_UUID})|(?P<key>{_SLUG})/(?P<slug>{_SLUG}))/?$"
)
_BARE_UUID = re.compile(rf"^/(?P<uuid>{_UUID})/?$")
_KUMA = re.compile(r"^(?:/.*)?/api/push/(?P<token>[^/]+)/?$")
_LIST_SEPARATOR = re.compile(r"[\s,]+")
_URL_IN_TEXT = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^\s/?#]*)[^\s]*")
_ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


class PushKind(StrEnum):
    """What a push URL talks to (see the module docstring)."""

    HEALTHCHECKS = "healthchecks"
    UPTIME_KUMA = "uptime_kuma"
    GENERIC = "generic"


class PushOutcome(StrEnum):
    """How one ping ended (a label of the results' counters)."""

    OK = "ok"
    REFUSED = "refused"
    """Answered, but not as the service answers a ping it took (a 404, Kuma's ``ok: false``)."""
    TIMED_OUT = "timed_out"
    UNREACHABLE = "unreachable"
    """No answer: refused connection, unknown host, TLS failure, connection closed."""


@dataclass(frozen=True)
class Reply:
    """What a server answered: its status and the start of its body."""

    status: int
    text: str = field(repr=False)


class NoReply(Exception):
    """The transport got no answer; ``detail`` names neither the URL nor its parts."""

    def __init__(self, outcome: PushOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class PushUrlError(ValueError):
    """The .env variable holds something that is not a usable push URL (the message names
    the variable and the entry's position, never the secret)."""


@dataclass(frozen=True)
class PushTarget:
    """One configured push URL. ``url`` and ``secrets`` never appear in a repr or a log."""

    kind: PushKind
    host: str
    """``host`` or ``host:port``, as logs show the target."""
    url: str = field(repr=False)
    """The URL as configured, less any ``user:password@`` (sent as basic auth instead)."""
    secrets: tuple[str, ...] = field(repr=False, default=())
    """Its secret parts (UUID, ping key, token, password, path and query values)."""
    authorization: str | None = field(repr=False, default=None)


@dataclass(frozen=True)
class PushRequest:
    """One HTTP request to make; its ``url`` and headers are secret (no repr)."""

    method: str
    url: str = field(repr=False)
    body: bytes | None = field(repr=False, default=None)
    headers: tuple[tuple[str, str], ...] = field(repr=False, default=())


# -- reading the variable ----------------------------------------------------------------


def parse_push_urls(text: str, variable: str) -> tuple[PushTarget, ...]:
    """Given the value of the .env variable named ``variable``, return its push targets in
    order, without duplicates. URLs are separated by white space or commas (a push URL has
    none of its own). Raise PushUrlError for an entry that is not an http(s) URL with a host,
    or a healthchecks.io URL that is not a check's ping URL."""
    targets: list[PushTarget] = []
    seen: set[str] = set()
    for position, entry in enumerate(piece for piece in _LIST_SEPARATOR.split(text) if piece):
        if entry in seen:
            continue
        seen.add(entry)
        targets.append(_target(entry, f"{variable}: the {_ordinal(position + 1)} URL"))
    return tuple(targets)


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{_ORDINAL_SUFFIXES.get(number % 10, 'th')}"


def _target(entry: str, where: str) -> PushTarget:
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError as error:  # a bad port or IPv6 literal; its text names no secret
        raise PushUrlError(f"{where} cannot be read ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}://, not http(s)://" if scheme and "://" in entry else "no URL"
        raise PushUrlError(f"{where} is {shown}: push monitors are reached over http or https")
    if not parts.hostname:
        raise PushUrlError(f"{where} has no host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    shown_host = host if port is None else f"{host}:{port}"
    kind, path_secrets = _recognise(parts.hostname.lower(), parts.path, parts.query, where)
    netloc = parts.netloc.rpartition("@")[2]
    authorization, user_secrets = _basic_auth(parts.username, parts.password)
    return PushTarget(
        kind=kind,
        host=shown_host,
        url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        secrets=_unique((*path_secrets, *user_secrets)),
        authorization=authorization,
    )


def _recognise(
    hostname: str, path: str, query: str, where: str
) -> tuple[PushKind, tuple[str, ...]]:
    """Return the URL's kind and its secret parts."""
    if hostname == HEALTHCHECKS_HOST:
        found = _HEALTHCHECKS_ROOT.match(path)
        if found is None or _is_action_url(found):
            raise PushUrlError(
                f"{where} is not a healthchecks.io check's ping URL (https://hc-ping.com/<uuid>"
                " or https://hc-ping.com/<ping-key>/<slug>, without /fail or /start)"
            )
        return PushKind.HEALTHCHECKS, _healthchecks_secrets(found)
    if (found := _KUMA.match(path)) is not None:
        return PushKind.UPTIME_KUMA, (unquote(found["token"]),)
    found = _HEALTHCHECKS_UNDER_PING.match(path) or _BARE_UUID.match(path)
    if found is not None and not _is_action_url(found):
        return PushKind.HEALTHCHECKS, _healthchecks_secrets(found)
    # Which part of an unknown URL is its secret cannot be told: every token-like piece is.
    pieces = [unquote(segment) for segment in path.split("/")]
    pieces += [value for _, value in parse_qsl(query, keep_blank_values=True)]
    return PushKind.GENERIC, tuple(piece for piece in pieces if len(piece) >= GENERIC_SECRET)


def _is_action_url(found: re.Match[str]) -> bool:
    """``<uuid>/fail`` (``/start``, ``/log``, ``/<exit status>``) reads as a ping key and a
    slug, but it is a UUID's ping URL with an action already on it: every ping would be that
    action. (A slug may be called "fail": under a ping key that is not a UUID, it is one.)"""
    key, slug = found.groupdict().get("key"), found.groupdict().get("slug")
    return (
        key is not None
        and slug is not None
        and _UUID_ONLY.match(key) is not None
        and _ACTIONS.match(slug) is not None
    )


def _healthchecks_secrets(found: re.Match[str]) -> tuple[str, ...]:
    return (found["uuid"],) if found["uuid"] else (found["key"],)


def _basic_auth(user: str | None, password: str | None) -> tuple[str | None, tuple[str, ...]]:
    """A ``user:password@`` in the URL, as urllib would not send it: an Authorization header."""
    if user is None and password is None:
        return None, ()
    pair = f"{unquote(user or '')}:{unquote(password or '')}".encode()
    secrets = tuple(unquote(value) for value in (password,) if value)
    return f"Basic {base64.b64encode(pair).decode('ascii')}", secrets


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


# -- what each kind wants for a verdict --------------------------------------------------


def build_request(target: PushTarget, healthy: bool, message: str) -> PushRequest | None:
    """Return the request that reports ``healthy`` (with the already short ``message``) to
    ``target``; None when its kind says nothing for it (generic, unhealthy: silence)."""
    headers: tuple[tuple[str, str], ...] = ()
    if target.authorization is not None:
        headers = (("Authorization", target.authorization),)
    match target.kind:
        case PushKind.HEALTHCHECKS:
            url = target.url if healthy else _append_to_path(target.url, "fail")
            content = (("Content-Type", "text/plain; charset=utf-8"),)
            return PushRequest("POST", url, message.encode("utf-8"), headers + content)
        case PushKind.UPTIME_KUMA:
            status = "up" if healthy else "down"
            return PushRequest("GET", _kuma_url(target.url, status, message), None, headers)
        case PushKind.GENERIC:
            return PushRequest("GET", target.url, None, headers) if healthy else None


def _append_to_path(url: str, segment: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{segment}"))


def _kuma_url(url: str, status: str, message: str) -> str:
    """The push URL with ``status`` and ``msg`` set; its other parameters (``ping``) kept."""
    parts = urlsplit(url)
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in ("status", "msg")
    ]
    query = urlencode([("status", status), ("msg", message), *kept])
    return urlunsplit(parts._replace(query=query))


def short_message(reason: str, secrets: Iterable[str], fallback: str) -> str:
    """Return ``reason`` fit to send: every URL in it cut to ``scheme://host``, every secret
    (of at least ``SHORTEST_SECRET`` characters) masked, on one line of printable characters,
    at most ``MESSAGE_LIMIT`` long; ``fallback`` when nothing is left."""
    text = _URL_IN_TEXT.sub(lambda found: f"{found[1]}://{found[2].rpartition('@')[2]}", reason)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= SHORTEST_SECRET:
            text = text.replace(secret, MASK)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1].rstrip() + "…"
    return text or fallback


def judge(kind: PushKind, reply: Reply) -> tuple[PushOutcome, str]:
    """Return what ``reply`` means for a ping of ``kind``, and a few words saying so (the
    answer's own words for the two services, which echo no URL; the status alone otherwise)."""
    if not 200 <= reply.status < 300:
        said = _said(kind, reply)
        hint = " (a redirect: configure the URL it points to)" if 300 <= reply.status < 400 else ""
        return PushOutcome.REFUSED, f"HTTP {reply.status}{f' {said}' if said else ''}{hint}"
    if kind is PushKind.UPTIME_KUMA and _kuma_answer(reply.text).get("ok") is not True:
        said = _said(kind, reply)
        return (
            PushOutcome.REFUSED,
            f'HTTP {reply.status} without {{"ok":true}}{f" {said}" if said else ""}',
        )
    return PushOutcome.OK, f"HTTP {reply.status}"


def _said(kind: PushKind, reply: Reply) -> str:
    if kind is PushKind.UPTIME_KUMA:
        message = _kuma_answer(reply.text).get("msg")
        return f"({message[:80]})" if isinstance(message, str) else ""
    if kind is PushKind.HEALTHCHECKS and len(reply.text.strip()) <= 40:
        return f"({reply.text.strip()})" if reply.text.strip() else ""
    return ""


def _kuma_answer(text: str) -> dict[str, object]:
    try:
        answer = json.loads(text)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
