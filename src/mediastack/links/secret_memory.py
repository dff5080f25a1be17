"""What secret each provider link was last given, as a hash: the apps answer secrets as
``********``, so a password rotated in ``.env`` (``up`` re-hashes qBittorrent's) would never
reach Sonarr, Radarr and Prowlarr, and each would keep logging in with the old one until
qBittorrent bans 127.0.0.1. With this memory a changed secret is drift, and is put back.

A JSON file in the homelab folder: link key -> SHA-256 of its secrets (no secret itself).
A link without an entry (first run, or the file lost) records the current hash: from then on
a change is seen. Unreadable or unwritable: no memory (one warning), never a failed run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from mediastack.render import atomic_write

logger = logging.getLogger("mediastack.links")
MEMORY_NAME = ".mediastack-wire-secrets.json"


def fingerprint(secrets: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(secrets).encode()).hexdigest()


class SecretMemory:
    """Link key -> hash of the secrets it was last sent; ``save`` writes it back."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._hashes: dict[str, str] = {}
        self._changed = False
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._hashes = {str(k): str(v) for k, v in dict(loaded).items()}
            except (OSError, ValueError, TypeError):
                logger.warning("ignoring unreadable %s: secrets are compared afresh", path)

    def differs(self, key: str, secrets: Sequence[str]) -> bool:
        """True when ``key`` was last sent other secrets than ``secrets`` (unknown: False)."""
        known = self._hashes.get(key)
        return known is not None and known != fingerprint(secrets)

    def remember(self, key: str, secrets: Sequence[str]) -> None:
        value = fingerprint(secrets)
        if self._hashes.get(key) != value:
            self._hashes[key] = value
            self._changed = True

    def save(self) -> None:
        if self.path is None or not self._changed:
            return
        with contextlib.suppress(OSError):
            atomic_write(self.path, json.dumps(self._hashes, indent=1, sort_keys=True), 0o644)
            self._changed = False
