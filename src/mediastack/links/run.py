"""One ``wire`` run, as the CLI, ``up`` and the supervisor's job all call it:

1. one ``AppApi`` per enabled app with a web UI, at the vantage point's URLs;
2. wait (bounded by ``app_wait_seconds``) for each app the links touch to answer; one that
   does not is reported broken with its URL, and the links on it with it;
3. the desired links (``desired``), reconciled (``reconcile``) against the apps;
4. every client closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mediastack.adapters.errors import AdapterError
from mediastack.appconfig.write import apply_app_configs, plan_app_configs
from mediastack.config import LoadedConfig
from mediastack.links.api import AppApi, AppError, RequestCounts
from mediastack.links.desired import API_KEY_VARIABLES, API_PATHS, desired_links, wanted_from
from mediastack.links.endpoints import Vantage, app_urls
from mediastack.links.link import Context, Inspection, Link, LinkStatus, ServiceRunner
from mediastack.links.lock import wire_lock
from mediastack.links.reconcile import Progress, reconcile
from mediastack.links.report import LinkState, WireReport
from mediastack.links.secret_memory import MEMORY_NAME, SecretMemory

DEFAULT_APP_WAIT_SECONDS = 60.0
LOGIN_MEMORY_NAME = ".mediastack-qbittorrent-refused"
LOCK_WAIT_SECONDS = 330.0  # a wire takes seconds, but its recyclarr sync may take up to 300 s
STATUS_PATHS = {app: f"{path}/system/status" for app, path in API_PATHS.items()}
STATUS_PATHS["bazarr"] = "/api/system/status"
HEADERS = {"bazarr": "X-API-KEY"}  # the *arr apps: X-Api-Key (HTTP headers are caseless
# anyway; Bazarr's own spelling is kept for readers of the dry run)
API_APPS = tuple(STATUS_PATHS)


@dataclass(frozen=True)
class WireOptions:
    vantage: Vantage = Vantage.HOST
    urls: Mapping[str, str] | None = None  # app -> base URL overrides
    dry_run: bool = False
    app_wait_seconds: float = DEFAULT_APP_WAIT_SECONDS
    host_files: bool = True  # this process sees the homelab's config/ and data/ folders


def wire(
    loaded: LoadedConfig,
    secrets: Mapping[str, str],
    options: WireOptions,
    runner: ServiceRunner | None = None,
    progress: Progress | None = None,
) -> WireReport:
    """Run the steps above, holding the homelab's wire lock unless ``dry_run``; return the
    report. Never raises for an app's failure (that is a broken link in the report); raises
    WireBusyError when another wire holds the lock past ``LOCK_WAIT_SECONDS``."""
    if options.dry_run:
        return _wire(loaded, secrets, options, runner, progress)
    with wire_lock(loaded.root, LOCK_WAIT_SECONDS):
        return _wire(loaded, secrets, options, runner, progress)


def _wire(
    loaded: LoadedConfig,
    secrets: Mapping[str, str],
    options: WireOptions,
    runner: ServiceRunner | None,
    progress: Progress | None,
) -> WireReport:
    urls = app_urls(loaded, options.vantage, options.urls)
    counts = RequestCounts()
    apis = {
        app: AppApi(app, urls[app], secrets.get(API_KEY_VARIABLES[app], ""),
                    header=HEADERS.get(app, "X-Api-Key"), status_path=STATUS_PATHS[app],
                    counts=counts)
        for app in API_APPS if app in urls
    }
    try:
        unreachable = _wait_for(apis, options.app_wait_seconds)
        reachable = {app: api for app, api in apis.items() if app not in unreachable}
        context = Context(
            apis=reachable,
            config_folder=_seen(loaded, loaded.config_folder, options),
            data_folder=_seen(loaded, loaded.data_folder, options),
            owner=(loaded.config.identity.puid, loaded.config.identity.pgid),
            runner=runner,
            secrets=SecretMemory(loaded.root / MEMORY_NAME if options.host_files else None),
        )
        wanted = wanted_from(loaded, secrets, urls.get("qbittorrent", ""))
        writer = _cross_seed_writer(loaded, secrets) if options.host_files else None
        memory = loaded.root / LOGIN_MEMORY_NAME if options.host_files else None
        links = desired_links(wanted, writer, memory)
        report = reconcile(
            [_unless_unreachable(link, unreachable) for link in links],
            context, dry_run=options.dry_run, progress=progress,
        )
    finally:
        for api in apis.values():
            api.close()
    return WireReport(report.links, report.requests, counts.reads, report.dry_run)


def _seen(loaded: LoadedConfig, folder: Path, options: WireOptions) -> Path | None:
    """Return ``folder`` when this process sees it: the host sees every folder; the
    supervisor's container mounts only the homelab folder (at the same path), so a folder
    outside it (data on another disk) is not there."""
    if not options.host_files:
        return None
    if options.vantage is Vantage.SUPERVISOR and not folder.is_relative_to(loaded.root):
        return None
    return folder


def _wait_for(apis: Mapping[str, AppApi], seconds: float) -> dict[str, str]:
    """Wait for every app to answer (one shared deadline); return app -> why, for those that
    did not."""
    unreachable: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    for app, api in apis.items():
        try:
            api.wait_until_answering(max(0.0, deadline - time.monotonic()))
        except AppError as error:
            unreachable[app] = f"{error.message} (fix: {error.fix})" if error.fix else error.message
    return unreachable


@dataclass(frozen=True)
class _Unreachable:
    """A link on an app that did not answer: broken, with that app's reason."""

    link: Link
    reason: str

    @property
    def app(self) -> str:
        return self.link.app

    @property
    def key(self) -> str:
        return self.link.key

    @property
    def title(self) -> str:
        return self.link.title

    @property
    def needs(self) -> tuple[str, ...]:
        return self.link.needs

    def inspect(self, context: Context) -> Inspection:
        return Inspection(LinkStatus.BROKEN, self.reason)


def _unless_unreachable(link: Link, unreachable: Mapping[str, str]) -> Link:
    """Return ``link``, or a broken stand-in when an app whose API it reads did not answer."""
    read = (link.app, *getattr(link, "reads", ()))
    reason = next((unreachable[app] for app in read if app in unreachable), None)
    return link if reason is None else _Unreachable(link, reason)


def _cross_seed_writer(
    loaded: LoadedConfig, secrets: Mapping[str, str]
) -> Callable[[list[str]], bool]:
    def write(torznab: list[str]) -> bool:
        """Write config.js with ``torznab``; return True when it changed."""
        planned = [
            file for file in plan_app_configs(loaded, secrets, cross_seed_torznab=torznab)
            if file.service == "cross-seed"
        ]
        results = apply_app_configs(planned, running_services=set(), dry_run=False)
        refused = [result for result in results if result.action == "skipped-user-file"]
        if refused:
            raise AdapterError(f"cross-seed's config.js: {refused[0].reason}",
                               "list the torznab URLs in your own config.js yourself")
        return any(result.action in ("created", "updated") for result in results)

    return write


__all__ = ["LinkState", "WireOptions", "WireReport", "wire"]
