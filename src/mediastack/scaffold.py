"""``mediastack init``: write the config, the secrets file and the folder tree, then render.

Control flow: choose answers (flags, prompts, defaults) -> build a Config (validated like any
other) -> refuse an existing config unless forced -> write mediastack.yaml and .env (0600,
keeping every value already there) -> create folders owned by PUID:PGID -> render.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mediastack.catalogue import ServiceDefinition
from mediastack.config import Config, LoadedConfig
from mediastack.config.reference import commented_yaml
from mediastack.render import atomic_write
from mediastack.render.environment import PLACEHOLDER_PREFIX, read_secrets

# Values init generates, and values only the user can provide (named so they stand out).
GENERATED_VARIABLES = (
    "GLUETUN_API_KEY",
    "SONARR_API_KEY",
    "RADARR_API_KEY",
    "PROWLARR_API_KEY",
    "BAZARR_API_KEY",
    "SEERR_API_KEY",
    # Written into qBittorrent.conf as a PBKDF2 hash before its first start, so it never
    # makes up a temporary password; Sonarr, Radarr, cross-seed and port sync log in with it.
    "QBITTORRENT_PASSWORD",
    # The log-in `mediastack wire` gives Sonarr, Radarr and Prowlarr (forms authentication).
    "APPS_PASSWORD",
    # The read-only token of the supervisor's status page, API and metrics (status.*).
    "MEDIASTACK_STATUS_TOKEN",
)
# Values init sets to a fixed default (the user may change them): not secret on their own.
DEFAULT_VARIABLES = {"APPS_USERNAME": "admin"}
PLACEHOLDERS = {
    "WIREGUARD_PRIVATE_KEY": "the WireGuard private key from your VPN provider's config file",
    "WIREGUARD_ADDRESSES": "the WireGuard Address line from that file, e.g. 10.2.0.2/32",
}
OPTIONAL_VARIABLES = {
    "PLEX_CLAIM": "a claim token from https://www.plex.tv/claim (valid 4 minutes)",
    "MEDIASTACK_NOTIFY_URLS": "Apprise URLs for notifications, e.g. ntfys://ntfy.sh/my-topic",
}
# torrents/cross-seed: cross-seed's linkDirs (same filesystem as the downloads, so its links
# are hardlinks); made here so it belongs to PUID:PGID, not to whoever cross-seed runs as.
DATA_FOLDERS = (
    "torrents/movies",
    "torrents/tv",
    "torrents/cross-seed",
    "media/movies",
    "media/tv",
)


class AlreadyInitialised(Exception):
    """The folder already holds a config and --force was not given."""


@dataclass(frozen=True)
class InitResult:
    config_path: Path
    env_path: Path
    created_folders: list[Path]
    placeholders: list[str]


def default_identity() -> tuple[int, int]:
    """Return the PUID/PGID to suggest: the invoking user behind sudo, else the current user
    unless that is root (apps should not run as root), else 1000."""
    uid = int(os.environ.get("SUDO_UID", os.getuid()))
    gid = int(os.environ.get("SUDO_GID", os.getgid()))
    return (uid, gid) if uid != 0 else (1000, 1000)


def default_timezone() -> str:
    """Return the host's time zone name, or Etc/UTC when it cannot be told."""
    if os.environ.get("TZ"):
        return os.environ["TZ"]
    timezone_file = Path("/etc/timezone")
    if timezone_file.exists():
        return timezone_file.read_text(encoding="utf-8").strip() or "Etc/UTC"
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "/zoneinfo/" in target:
            return target.split("/zoneinfo/", 1)[1]
    return "Etc/UTC"


def initialise(directory: Path, config: Config, force: bool = False) -> InitResult:
    """Write mediastack.yaml, .env and the folder tree under ``directory``; return what was
    made. Raise AlreadyInitialised when a config exists there and ``force`` is false."""
    directory = directory.resolve()
    config_path = directory / "mediastack.yaml"
    if config_path.exists() and not force:
        raise AlreadyInitialised(str(config_path))
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(config_path, commented_yaml(config), 0o644)
    loaded = LoadedConfig(config=config, path=config_path)
    placeholders = write_secrets_file(loaded.env_file)
    created = create_folders(loaded)
    return InitResult(config_path, loaded.env_file, created, placeholders)


def write_secrets_file(path: Path) -> list[str]:
    """Write .env (mode 0600) keeping every value already in it, generating API keys and
    passwords, the apps' user name (``admin``), and naming placeholders for what only the user
    knows; return the variables still holding one."""
    existing = read_secrets(path)
    lines = [
        "# mediastack secrets. Never commit this file. Mode 0600.",
        f"# Values starting with {PLACEHOLDER_PREFIX} must be replaced before `mediastack up`.",
        "",
    ]
    for name in GENERATED_VARIABLES:
        lines.append(f"{name}={existing.get(name) or secrets.token_hex(16)}")
    for name, default in DEFAULT_VARIABLES.items():
        lines.append(f"{name}={existing.get(name) or default}")
    for name, meaning in PLACEHOLDERS.items():
        lines += [f"# {meaning}", f"{name}={existing.get(name) or PLACEHOLDER_PREFIX + '_' + name}"]
    for name, meaning in OPTIONAL_VARIABLES.items():
        lines += [f"# optional: {meaning}", f"{name}={existing.get(name, '')}"]
    known = {*GENERATED_VARIABLES, *DEFAULT_VARIABLES, *PLACEHOLDERS, *OPTIONAL_VARIABLES}
    extra = {name: value for name, value in existing.items() if name not in known}
    if extra:
        lines += ["", "# kept from the previous file"]
        lines += [f"{name}={value}" for name, value in extra.items()]
    atomic_write(path, "\n".join(lines) + "\n", 0o600)
    current = read_secrets(path)
    return [name for name in PLACEHOLDERS if current[name].startswith(PLACEHOLDER_PREFIX)]


def missing_generated_variables(path: Path) -> list[str]:
    """Return the generated variables ``path`` (an existing .env) lacks or leaves empty: a
    homelab made by an older mediastack has no status token yet."""
    existing = read_secrets(path)
    return [name for name in GENERATED_VARIABLES if not existing.get(name)]


def add_generated_variables(path: Path) -> list[str]:
    """Give .env the generated variables it lacks, appended (every line already there, its
    comments and quoting included, is left exactly as it is; the mode stays 0600); return
    their names. A variable present but empty gets a value on a later line, which wins."""
    missing = missing_generated_variables(path)
    if not missing:
        return []
    text = path.read_text(encoding="utf-8")
    added = [f"{name}={secrets.token_hex(16)}" for name in missing]
    separator = "" if not text or text.endswith("\n") else "\n"
    lines = ["# added by a newer mediastack (generated)", *added]
    atomic_write(path, text + separator + "\n".join(lines) + "\n", 0o600)
    return missing


def create_folders(loaded: LoadedConfig) -> list[Path]:
    """Create the TRaSH-style tree and one config folder per enabled app; chown them to
    PUID:PGID when running as root. Return the folders that did not exist before."""
    wanted = [loaded.data_folder / relative for relative in DATA_FOLDERS]
    wanted += [loaded.backups_folder]
    wanted += [loaded.config_folder / d.name for d in _with_config(loaded.enabled_services())]
    created = [folder for folder in wanted if not folder.exists()]
    for folder in wanted:
        folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        identity = loaded.config.identity
        for folder in _with_parents(created, stop_at=loaded.root):
            os.chown(folder, identity.puid, identity.pgid)
    return created


def _with_config(definitions: Iterable[ServiceDefinition]) -> list[ServiceDefinition]:
    return [definition for definition in definitions if definition.config_target is not None]


def _with_parents(folders: list[Path], stop_at: Path) -> list[Path]:
    """Return ``folders`` plus their parents below ``stop_at`` (data/, data/torrents, ...)."""
    result: set[Path] = set()
    for folder in folders:
        result.add(folder)
        for parent in folder.parents:
            if parent == stop_at or stop_at not in parent.parents:
                break
            result.add(parent)
    return sorted(result)
