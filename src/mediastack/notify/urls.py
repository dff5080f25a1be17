"""Apprise URLs: reading them from the .env value, masking them for logs, and the per-message
options Apprise's ntfy plugin takes in the URL.

An Apprise URL carries its secrets in every part but the scheme: a token as the user
(``ntfy://tk_...@host/topic``), a password, a topic (on ntfy.sh the topic *is* the password),
a bot token as the "host" (``tgram://123:ABC/chat``), a webhook token in the path. So a URL is
logged as ``scheme://host`` only when the host is a real host name, else as ``scheme://***``;
and every piece of every configured URL is redacted from the log records of Apprise itself and
of urllib3 (Apprise logs request headers, including ``Authorization: Bearer``, at DEBUG).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlencode

NTFY_SCHEMES = frozenset({"ntfy", "ntfys"})
MASK = "***"
SHORTEST_REDACTED_SECRET = 4
"""Shorter pieces are not redacted from third-party log lines: they would mangle ordinary words."""
REDACTED_LOGGERS = ("apprise", "urllib3.connectionpool")

_NTFY_TAG_OPTIONS = frozenset({"tags", "xtags"})
_NTFY_MESSAGE_OPTIONS = _NTFY_TAG_OPTIONS | {"priority"}
_LIST_SEPARATOR = re.compile(r"\s+|,(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")


@dataclass(frozen=True)
class _UrlParts:
    scheme: str
    userinfo: str
    authority: str
    host: str
    port: str
    path: str
    query: str


def parse_url_list(text: str) -> tuple[str, ...]:
    """Given the value of the .env variable, return its Apprise URLs in order, without
    duplicates. URLs are separated by white space or by commas; a comma inside a URL (such as
    ``?tags=a,b``) does not split it, because only a comma before ``scheme://`` does."""
    urls: list[str] = []
    for piece in _LIST_SEPARATOR.split(text):
        url = piece.strip().strip(",")
        if url and url not in urls:
            urls.append(url)
    return tuple(urls)


def _split(url: str) -> _UrlParts | None:
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme:
        return None
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, _, host_and_port = authority.rpartition("@")
    host, port = _split_port(host_and_port)
    return _UrlParts(scheme.lower(), userinfo, host_and_port, host, port, slash + path, query)


def _split_port(host_and_port: str) -> tuple[str, str]:
    if host_and_port.startswith("["):
        host, _, port = host_and_port[1:].partition("]")
        return host, port.removeprefix(":")
    host, _, port = host_and_port.partition(":")
    return host, port


def _is_host_name(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return True


def mask_url(url: str) -> str:
    """Return ``url`` fit for a log line: its scheme and host (and port) when the host is a
    host name or an address, ``scheme://***`` when the "host" is a token or a topic, ``***``
    when it is no URL at all. Never any user, password, path or query."""
    parts = _split(url)
    if parts is None:
        return MASK
    if not _is_host_name(parts.host):
        return f"{parts.scheme}://{MASK}"
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    port = f":{parts.port}" if parts.port.isdigit() else ""
    return f"{parts.scheme}://{host}{port}"


def url_secrets(url: str) -> frozenset[str]:
    """Return every piece of ``url`` that may be secret (user, password, a host that is no host
    name, path segments, query values), raw and percent-decoded; the whole URL when it does not
    parse."""
    parts = _split(url)
    if parts is None:
        return frozenset({url})
    pieces = [parts.userinfo, *parts.userinfo.split(":"), *parts.path.split("/")]
    pieces += [pair.partition("=")[2] for pair in parts.query.split("&")]
    if not _is_host_name(parts.host):
        pieces += [parts.host, parts.port, parts.authority]
    found = {variant for piece in pieces for variant in (piece, unquote_plus(piece))}
    return frozenset(piece for piece in found if piece)


def with_ntfy_options(url: str, priority: str, tags: Sequence[str]) -> str:
    """Given an ntfy Apprise URL, return it with this message's ``priority`` (replacing any in
    the URL) and ``tags`` (added after the URL's own ``tags``/``xtags``) as query parameters,
    the only way Apprise's ntfy plugin takes them."""
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if key.lower() not in _NTFY_MESSAGE_OPTIONS]
    url_tags = [value for key, value in pairs if key.lower() in _NTFY_TAG_OPTIONS]
    all_tags = _unique([tag.strip() for value in url_tags for tag in value.split(",")] + [*tags])
    kept.append(("priority", priority))
    if all_tags:
        kept.append(("tags", ",".join(all_tags)))
    return f"{base}?{urlencode(kept)}"


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def is_ntfy_url(url: str) -> bool:
    """Return True when ``url`` uses Apprise's ntfy schemes (``ntfy://`` is http, ``ntfys://``
    is https)."""
    parts = _split(url)
    return parts is not None and parts.scheme in NTFY_SCHEMES


class SecretRedactor(logging.Filter):
    """A logging filter that replaces every registered secret in a record's message by
    ``***``. Thread-safe; secrets shorter than four characters are ignored."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def register(self, secrets: Iterable[str]) -> None:
        """Add ``secrets`` to those redacted from now on."""
        with self._lock:
            merged = set(self._secrets) | {
                secret for secret in secrets if len(secret) >= SHORTEST_REDACTED_SECRET
            }
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without secrets; never drop the record."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = SecretRedactor()
_installed = False
_install_lock = threading.Lock()


def protect_third_party_logs(urls: Iterable[str]) -> None:
    """Redact the secrets of ``urls`` from what Apprise and urllib3 log (their loggers get a
    :class:`SecretRedactor`; importing neither library)."""
    global _installed
    _REDACTOR.register(secret for url in urls for secret in url_secrets(url))
    with _install_lock:
        if not _installed:
            for name in REDACTED_LOGGERS:
                logging.getLogger(name).addFilter(_REDACTOR)
            _installed = True
