"""Links that are not *arr providers: qBittorrent's credentials (checked once, never
retried), cross-seed's torznab list from Prowlarr, and Plex's claim.

- qBittorrent 5 (and 4.5 in the lab): five failed log-ins ban the client address for an hour,
  and in gluetun's namespace every app is 127.0.0.1. So the credentials from .env are tried
  once, by mediastack, before any app's download-client test logs in with them; a refusal
  stops every link that needs them, and says how to fix it.
- cross-seed 6 reads ``config.js`` only at start: the torznab URLs of Prowlarr's enabled
  torrent indexers (``http://localhost:9696/<id>/api?apikey=...``) are written into it, and
  cross-seed is restarted, only when that list changes.
- Plex: a server is claimed once, with ``PLEX_CLAIM``; its token is then ``PlexOnlineToken``
  in ``Preferences.xml``. Until then every link to Plex waits for the user.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mediastack.adapters.qbittorrent import (
    QbittorrentClient,
    QbittorrentError,
    QbittorrentLoginFailedError,
)
from mediastack.appconfig.cross_seed import CONFIG_FILE as CROSS_SEED_FILE
from mediastack.appconfig.cross_seed import torznab_of, torznab_url
from mediastack.links.link import Action, Context, Inspection, LinkStatus, broken, ok, waiting
from mediastack.links.model import Provider
from mediastack.render import atomic_write

REFUSED_FIX = (
    "Fix: `mediastack down qbittorrent && mediastack up` writes the password's hash into "
    "qBittorrent.conf while it is stopped; a changed password in .env is tried again"
)
PLEX_PREFERENCES = Path("Library/Application Support/Plex Media Server/Preferences.xml")
_TOKEN = re.compile(r'\bPlexOnlineToken="([^"]+)"')


@dataclass(frozen=True)
class QbittorrentLoginLink:
    """qBittorrent accepts the user and password from .env (one log-in, never repeated).

    ``memory``: a file that remembers a refused user and password (a hash of them): a later
    run (the supervisor's, every few minutes) does not try them again, so a wrong password
    costs one failed log-in, not one per run until the ban. A changed password is tried."""

    url: str
    username: str
    password: str = field(repr=False)
    memory: Path | None = None
    app: str = "qbittorrent"
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return "qbittorrent:login"

    @property
    def title(self) -> str:
        return f"log-in as {self.username}"

    def inspect(self, context: Context) -> Inspection:
        if self._refused_before():
            return broken(
                f"qBittorrent refused {self.username!r} with this QBITTORRENT_PASSWORD before: "
                f"not tried again (remembered in {self.memory}). {REFUSED_FIX}"
            )
        try:
            with QbittorrentClient(self.url, self.username, self.password) as client:
                client.read_preferences()
        except QbittorrentLoginFailedError:
            self._remember(refused=True)
            return broken(
                f"qBittorrent at {self.url} refused {self.username!r} with QBITTORRENT_PASSWORD "
                "from .env; not retried (five failures ban every app in the VPN namespace for "
                f"an hour). {REFUSED_FIX}"
            )
        except QbittorrentError as error:
            return broken(f"{error.message} ({error.fix})" if error.fix else error.message)
        self._remember(refused=False)
        return ok()

    def _fingerprint(self) -> str:
        return hashlib.sha256(f"{self.username}\0{self.password}".encode()).hexdigest()

    def _refused_before(self) -> bool:
        if self.memory is None:
            return False
        try:
            return self.memory.read_text(encoding="ascii").strip() == self._fingerprint()
        except OSError:
            return False

    def _remember(self, refused: bool) -> None:
        if self.memory is None:
            return
        with contextlib.suppress(OSError):  # a read-only folder: no memory, still one try a run
            if refused:
                # 0644: the supervisor (root, in its container) and the user's `wire` both
                # read it; it holds a hash, not the password.
                atomic_write(self.memory, self._fingerprint() + "\n", 0o644)
            else:
                self.memory.unlink(missing_ok=True)


@dataclass(frozen=True)
class CrossSeedTorznabLink:
    """cross-seed's config.js lists the torznab URL of every enabled Prowlarr torrent
    indexer; ``write`` rewrites config.js with a given list (the app-config writer)."""

    prowlarr_api_key: str = field(repr=False)
    write: Callable[[list[str]], bool] = field(repr=False, compare=False)
    app: str = "cross-seed"
    needs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ("prowlarr",)  # the APIs it reads besides its app's

    @property
    def key(self) -> str:
        return "cross-seed:torznab"

    @property
    def title(self) -> str:
        return "torznab indexers from Prowlarr"

    def inspect(self, context: Context) -> Inspection:
        if context.config_folder is None:
            return waiting("config.js is written by `mediastack wire` on the host")
        indexers = [
            Provider.model_validate(item) for item in context.api("prowlarr").get("/api/v1/indexer")
        ]
        usable = [
            indexer for indexer in indexers
            if (indexer.model_extra or {}).get("enable", True)
            and (indexer.model_extra or {}).get("protocol", "torrent") == "torrent"
        ]
        if not usable:
            return waiting(
                "Prowlarr has no enabled torrent indexer: add yours in Prowlarr (Indexers → Add "
                "Indexer); the next wire (or the supervisor's) gives them to cross-seed"
            )
        wanted = [torznab_url(indexer.id, self.prowlarr_api_key) for indexer in usable]
        path = context.config_folder / "cross-seed" / CROSS_SEED_FILE
        current = torznab_of(path.read_text(encoding="utf-8") if path.exists() else None)
        if current == wanted:
            return ok(f"{len(wanted)} indexer(s)")
        actions = [Action(f"write {path} with {len(wanted)} torznab URL(s)",
                          lambda: self._write_and_restart(context, wanted))]
        status = LinkStatus.MISSING if not current else LinkStatus.DRIFTED
        return Inspection(status, f"config.js lists {len(current)} of {len(wanted)}", (),
                          tuple(actions))

    def _write_and_restart(self, context: Context, wanted: list[str]) -> None:
        if self.write(wanted) and context.runner is not None:
            context.runner.restart("cross-seed")


def plex_token(config_folder: Path | None) -> str | None:
    """Return Plex's ``PlexOnlineToken`` from its Preferences.xml (None: not claimed yet)."""
    if config_folder is None:
        return None
    try:
        text = (config_folder / "plex" / PLEX_PREFERENCES).read_text(encoding="utf-8")
    except OSError:
        return None
    found = _TOKEN.search(text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class PlexClaimLink:
    """Plex is claimed (signed in to a plex.tv account): only the user can give the claim."""

    app: str = "plex"
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return "plex:claim"

    @property
    def title(self) -> str:
        return "claimed by your plex.tv account"

    def inspect(self, context: Context) -> Inspection:
        if plex_token(context.config_folder) is not None:
            return ok()
        return waiting(
            "Plex is not claimed: put a claim token from https://www.plex.tv/claim (valid 4 "
            "minutes) in .env as PLEX_CLAIM, then `mediastack up plex`; the next wire "
            "adds its libraries and connects Seerr"
        )
