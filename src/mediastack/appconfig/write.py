"""Plan the apps' config files from the config and .env, then write those whose app is stopped.

``plan_app_configs`` only reads (the config and the files already there) and returns what
each file should hold; ``apply_app_configs`` is the one side effect: atomic writes, mode
0600 for files holding a secret, PUID:PGID ownership when run as root, and nothing written
where the content is unchanged, the app is running, or the file is a user's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from mediastack.appconfig import bazarr, cross_seed, qbittorrent, recyclarr
from mediastack.appconfig.errors import ForeignFileError
from mediastack.catalogue import CATALOGUE
from mediastack.config import ConfigError, ConfigProblem, LoadedConfig
from mediastack.render import atomic_write
from mediastack.render.compose import host_port_of
from mediastack.render.environment import is_placeholder

Action = Literal["created", "updated", "unchanged", "skipped-running", "skipped-user-file"]
SECRET_MODE = 0o600
PLAIN_MODE = 0o644
# Sonarr's and Radarr's default categories (their qBittorrent fields tvCategory and
# movieCategory) and where their downloads go in the data folder tree.
CATEGORIES = {
    "sonarr": ("tv-sonarr", "/data/torrents/tv"),
    "radarr": ("radarr", "/data/torrents/movies"),
}
ARR_PORTS = {"sonarr": 8989, "radarr": 7878}
ARR_KEY_VARIABLES = {"sonarr": "SONARR_API_KEY", "radarr": "RADARR_API_KEY"}
BAZARR_KEY_VARIABLE = "BAZARR_API_KEY"
CROSS_SEED_KEY_VARIABLE = "CROSS_SEED_API_KEY"  # optional; cross-seed wants 24+ characters


@dataclass(frozen=True)
class PlannedFile:
    """One app config file as it should be. ``content`` None: leave the file alone
    (``reason`` says why). ``strict`` files are never written while their service runs, even
    when missing (qBittorrent rewrites its files on exit)."""

    path: Path
    content: str | None
    mode: int
    uid: int
    gid: int
    service: str
    holds_secret: bool
    strict: bool = False
    reason: str = ""


@dataclass(frozen=True)
class AppConfigResult:
    """What ``apply_app_configs`` did (or, in a dry run, would do) with one file."""

    path: Path
    service: str
    action: Action
    reason: str = ""


def read_existing(path: Path) -> str | None:
    """Return the file's text, or None when there is no file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def plan_app_configs(
    loaded: LoadedConfig,
    secrets: Mapping[str, str],
    read: Callable[[Path], str | None] = read_existing,
    cross_seed_torznab: Sequence[str] | None = None,
) -> list[PlannedFile]:
    """Given the config and the .env variables, return the config files of every enabled app
    mediastack configures (qbittorrent, cross-seed, recyclarr, bazarr), merged with what
    ``read`` finds on disk; raise ConfigError naming every needed variable that is missing.
    ``cross_seed_torznab``: the torznab URLs for cross-seed (``cross_seed.torznab_url``, from
    Prowlarr's indexers); None keeps those the current config.js lists."""
    enabled = {definition.name for definition in loaded.enabled_services()}
    _check_secrets(loaded, secrets, enabled)
    planners = {
        "qbittorrent": _plan_qbittorrent,
        "cross-seed": _plan_cross_seed,
        "recyclarr": _plan_recyclarr,
        "bazarr": _plan_bazarr,
    }
    planned: list[PlannedFile] = []
    for service, planner in planners.items():
        if service in enabled:
            planned += planner(_Context(loaded, secrets, enabled, read, cross_seed_torznab))
    return planned


def apply_app_configs(
    planned: Iterable[PlannedFile], running_services: set[str], dry_run: bool
) -> list[AppConfigResult]:
    """Write each planned file that is missing or changed and whose service is not running
    (a strict one: never while it runs); return what was done with each. With ``dry_run``
    nothing is written and the results say what would be done."""
    results = []
    for file in planned:
        action, reason = _decide(file, running_services)
        if action in ("created", "updated") and not dry_run:
            _write(file)
        results.append(AppConfigResult(file.path, file.service, action, reason))
    return results


def _decide(file: PlannedFile, running_services: set[str]) -> tuple[Action, str]:
    if file.content is None:
        return "skipped-user-file", file.reason
    current = read_existing(file.path)
    if current == file.content:
        return "unchanged", ""
    if file.service in running_services and (file.strict or current is not None):
        why = "rewrites this file when it stops" if file.strict else "reads it only at start"
        return "skipped-running", (
            f"{file.service} is running and {why}: stop it "
            f"(`mediastack down {file.service}`), then render again"
        )
    return ("created", "") if current is None else ("updated", "")


def _write(file: PlannedFile) -> None:
    assert file.content is not None
    as_root = os.geteuid() == 0
    folders = [file.path.parent, *file.path.parent.parents]
    missing = [folder for folder in folders if not folder.exists()]
    for folder in reversed(missing):  # outermost first
        folder.mkdir()
        if as_root:
            os.chown(folder, file.uid, file.gid)
    atomic_write(file.path, file.content, file.mode)
    if as_root:
        os.chown(file.path, file.uid, file.gid)


# --- planning, one function per app ---------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    loaded: LoadedConfig
    secrets: Mapping[str, str]
    enabled: set[str]
    read: Callable[[Path], str | None]
    torznab: Sequence[str] | None

    def path(self, service: str, relative: PurePosixPath) -> Path:
        return self.loaded.config_folder / service / relative

    def planned(
        self,
        service: str,
        relative: PurePosixPath,
        generate: Callable[[str | None], str],
        holds_secret: bool,
        strict: bool = False,
    ) -> PlannedFile:
        path = self.path(service, relative)
        identity = self.loaded.config.identity
        try:
            content: str | None = generate(self.read(path))
            reason = ""
        except ForeignFileError as refusal:
            content, reason = None, f"left alone: {refusal}"
        mode = SECRET_MODE if holds_secret else PLAIN_MODE
        return PlannedFile(
            path, content, mode, identity.puid, identity.pgid, service, holds_secret, strict, reason
        )

    def key_of(self, service: str) -> str | None:
        """Return the API key of ``service`` (sonarr, radarr) when it is enabled."""
        return self.secrets[ARR_KEY_VARIABLES[service]] if service in self.enabled else None


def _plan_qbittorrent(context: _Context) -> list[PlannedFile]:
    config = context.loaded.config
    settings = qbittorrent.QbittorrentSettings(
        username=config.portsync.qbittorrent_username,
        password=context.secrets[config.portsync.qbittorrent_password_variable],
        published_port=host_port_of(context.loaded, CATALOGUE["qbittorrent"], "webui"),
        categories=dict(
            CATEGORIES[service] for service in ("sonarr", "radarr") if service in context.enabled
        ),
    )

    def conf(existing: str | None) -> str:
        try:
            return qbittorrent.qbittorrent_conf(settings, existing)
        except ValueError as error:
            raise ConfigError(
                str(context.loaded.path),
                [ConfigProblem("portsync.qbittorrent_username", str(error), "use plain ASCII")],
            ) from None

    return [
        context.planned("qbittorrent", qbittorrent.CONFIG_FILE, conf, True, strict=True),
        context.planned(
            "qbittorrent",
            qbittorrent.CATEGORIES_FILE,
            lambda existing: qbittorrent.categories_json(settings.categories, existing),
            False,
            strict=True,
        ),
    ]


def _plan_cross_seed(context: _Context) -> list[PlannedFile]:
    portsync = context.loaded.config.portsync
    own_key = context.secrets.get(CROSS_SEED_KEY_VARIABLE) or None
    settings = cross_seed.CrossSeedSettings(
        qbittorrent_username=portsync.qbittorrent_username,
        qbittorrent_password=context.secrets[portsync.qbittorrent_password_variable],
        sonarr_api_key=context.key_of("sonarr"),
        radarr_api_key=context.key_of("radarr"),
        api_key=own_key if own_key is not None and len(own_key) >= 24 else None,
        torznab=context.torznab,
    )
    return [
        context.planned(
            "cross-seed",
            cross_seed.CONFIG_FILE,
            lambda existing: cross_seed.cross_seed_config(settings, existing),
            True,
        )
    ]


def _plan_recyclarr(context: _Context) -> list[PlannedFile]:
    choices = context.loaded.config.apps.recyclarr

    def instance(service: str, profiles: list[str]) -> recyclarr.RecyclarrInstance | None:
        if service not in context.enabled:
            return None
        url = f"http://localhost:{ARR_PORTS[service]}"
        return recyclarr.RecyclarrInstance(url, ARR_KEY_VARIABLES[service], profiles)

    settings = recyclarr.RecyclarrSettings(
        sonarr=instance("sonarr", choices.series_profiles),
        radarr=instance("radarr", choices.movie_profiles),
    )
    return [
        context.planned(
            "recyclarr",
            recyclarr.CONFIG_FILE,
            lambda existing: recyclarr.recyclarr_config(settings, existing),
            False,
        )
    ]


def _plan_bazarr(context: _Context) -> list[PlannedFile]:
    def link(service: str) -> bazarr.ArrLink | None:
        key = context.key_of(service)
        return None if key is None else bazarr.ArrLink(ARR_PORTS[service], key)

    settings = bazarr.BazarrSettings(
        api_key=context.secrets[BAZARR_KEY_VARIABLE], sonarr=link("sonarr"), radarr=link("radarr")
    )
    return [
        context.planned(
            "bazarr",
            bazarr.CONFIG_FILE,
            lambda existing: bazarr.bazarr_config(settings, existing),
            True,
        )
    ]


# --- secrets ----------------------------------------------------------------------------


def needed_variables(loaded: LoadedConfig, enabled: set[str]) -> dict[str, list[str]]:
    """Return ``{variable: [services whose config file needs it]}`` for the enabled apps."""
    password = loaded.config.portsync.qbittorrent_password_variable
    arr_keys = [ARR_KEY_VARIABLES[name] for name in ("sonarr", "radarr") if name in enabled]
    needs = {
        "qbittorrent": [password],
        "cross-seed": [password, *arr_keys],
        "bazarr": [BAZARR_KEY_VARIABLE, *arr_keys],
    }
    needed: dict[str, list[str]] = {}
    for service, variables in needs.items():
        if service in enabled:
            for variable in variables:
                needed.setdefault(variable, []).append(service)
    return needed


def _check_secrets(loaded: LoadedConfig, secrets: Mapping[str, str], enabled: set[str]) -> None:
    problems = [
        ConfigProblem(
            variable,
            f"not set in .env; the config file of {', '.join(services)} needs it",
            f"add {variable}=<a long random value> to {loaded.env_file} "
            "(`mediastack init` generates it)",
        )
        for variable, services in needed_variables(loaded, enabled).items()
        if not secrets.get(variable) or is_placeholder(secrets[variable])
    ]
    if problems:
        raise ConfigError(str(loaded.env_file), problems)
