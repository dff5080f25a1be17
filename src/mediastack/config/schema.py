"""The one schema of ``mediastack.yaml``: validation, defaults and the config reference docs.

Every field carries a description; ``mediastack config reference`` and the README's config
reference are generated from these descriptions, so they cannot drift from what is validated.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mediastack.catalogue import CATALOGUE
from mediastack.config.apps import Apps

_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
_VARIABLE_PATTERN = r"^[A-Z_][A-Z0-9_]*$"


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_service(name: str) -> str:
    if name not in CATALOGUE:
        close = difflib.get_close_matches(name, CATALOGUE, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ValueError(f"unknown service '{name}'; {hint}known: {', '.join(CATALOGUE)}")
    return name


ServiceName = Annotated[str, AfterValidator(_known_service)]


class Folders(StrictModel):
    """Host folders. Relative paths are resolved against the folder holding mediastack.yaml."""

    data: Path = Field(
        Path("data"),
        description="Holds torrents/ and media/. Mounted as the single /data of the download "
        "client and the *arr apps, so an import is a hardlink, not a copy.",
    )
    config: Path = Field(
        Path("config"), description="One sub-folder per app for its settings and databases."
    )
    backups: Path = Field(Path("backups"), description="Where config backups are written.")
    stacks: Path = Field(
        Path("stacks"),
        description="Where the rendered compose projects are written (vpn/, media/, ops/).",
    )


class Identity(StrictModel):
    """The user and group every app runs as, and its time zone."""

    puid: int = Field(1000, ge=0, description="User id the apps run as; owns the folders.")
    pgid: int = Field(1000, ge=0, description="Group id the apps run as.")
    timezone: str = Field("Etc/UTC", description="IANA time zone, e.g. Europe/Berlin.")
    umask: str = Field(
        "002",
        pattern=r"^0?[0-7]{3}$",
        description="File creation mask; 002 keeps files group-writable for the other apps.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"'{value}' is not an IANA time zone such as Europe/Berlin") from error
        return value


class Network(StrictModel):
    """The shared bridge network and where web UIs are published."""

    name: str = Field(
        "homelab_media_network",
        pattern=_NAME_PATTERN,
        description="External bridge network shared by the three stacks; created by `up`.",
    )
    bind_address: str = Field(
        "0.0.0.0",
        description="Host address web UIs are published on. 0.0.0.0 means every interface; "
        "set your LAN address (or 127.0.0.1 behind a reverse proxy) to narrow it.",
    )

    @field_validator("bind_address")
    @classmethod
    def _is_address(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


class Vpn(StrictModel):
    """Gluetun: the WireGuard tunnel every download service lives behind."""

    provider: str = Field(
        "protonvpn",
        pattern=r"^[a-z0-9 ]+$",
        description="Gluetun VPN_SERVICE_PROVIDER, e.g. protonvpn, airvpn, private internet "
        "access, custom.",
    )
    type: Literal["wireguard"] = Field(
        "wireguard", description="Tunnel protocol. Only WireGuard is supported."
    )
    server_countries: list[str] = Field(
        default_factory=list, description="Gluetun SERVER_COUNTRIES; empty lets gluetun choose."
    )
    outbound_subnets: list[str] = Field(
        default_factory=list,
        description="Gluetun FIREWALL_OUTBOUND_SUBNETS: LAN subnets (e.g. 192.168.1.0/24) the "
        "VPN services may reach past the kill switch, such as a plex server on the LAN.",
    )
    port_forwarding: bool = Field(
        True,
        description="Ask the provider for a forwarded port (seeding needs it); mediastack syncs "
        "it into qBittorrent.",
    )
    control_server_port: int = Field(
        8000, ge=1, le=65535, description="Gluetun's control server port inside its namespace."
    )

    @field_validator("outbound_subnets")
    @classmethod
    def _are_subnets(cls, value: list[str]) -> list[str]:
        for subnet in value:
            ipaddress.ip_network(subnet, strict=False)
        return value

    api_key_variable: str = Field(
        "GLUETUN_API_KEY",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the control server API key.",
    )
    private_key_variable: str = Field(
        "WIREGUARD_PRIVATE_KEY",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the WireGuard private key.",
    )
    addresses_variable: str = Field(
        "WIREGUARD_ADDRESSES",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the WireGuard interface address(es).",
    )


_DURATION = r"^[0-9]+(ms|s|m|h)$"


class HealthcheckTiming(StrictModel):
    """Healthcheck timing overrides (the probe itself comes from the catalogue)."""

    interval: str | None = Field(None, pattern=_DURATION, description="Time between probes.")
    timeout: str | None = Field(None, pattern=_DURATION, description="Probe time limit.")
    retries: int | None = Field(None, ge=1, le=100, description="Failures before unhealthy.")
    start_period: str | None = Field(
        None, pattern=_DURATION, description="Start-up time during which failures don't count."
    )


class ServiceSettings(StrictModel):
    """Per-service overrides of the catalogue defaults."""

    enabled: bool | None = Field(
        None, description="Switch the service on or off; unset keeps the catalogue default."
    )
    tag: str | None = Field(
        # ASCII classes: a Unicode \w with a bounded repetition costs pydantic's regex engine
        # about 12 MB of memory (measured), for a tag grammar that is ASCII anyway.
        None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Image tag to use instead of the default.",
    )
    image: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9._/:@-]*$",
        description="Whole image reference (repository:tag) replacing the default; excludes tag.",
    )
    pull_policy: Literal["always", "missing", "never"] | None = Field(
        None, description="Compose pull_policy; `never` for locally built images."
    )
    ports: dict[str, int] = Field(
        default_factory=dict,
        description="Host port per named port, e.g. {webui: 8081}; defaults to the container port.",
    )
    update: Literal["auto", "notify", "pin"] = Field(
        "auto",
        description="Image updates: auto applies them, notify only reports, pin never touches.",
    )
    healthcheck: HealthcheckTiming = Field(
        default_factory=HealthcheckTiming,
        description="Healthcheck timing, e.g. {interval: 10s}; faster probes heal sooner.",
    )

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, value: dict[str, int]) -> dict[str, int]:
        for name, port in value.items():
            if not 1 <= port <= 65535:
                raise ValueError(f"port '{name}' is {port}; a host port is between 1 and 65535")
        return value


class Supervisor(StrictModel):
    """Limits of the supervisor's healing, so a broken VPN cannot make it thrash."""

    gluetun_healthy_timeout_seconds: int = Field(
        300, ge=5, le=3600, description="How long a cascade waits for gluetun to turn healthy."
    )
    max_cascades_per_hour: int = Field(
        5, ge=1, le=60, description="Cascades allowed in any rolling hour before pausing."
    )
    loop_pause_seconds: int = Field(
        3600, ge=60, le=86400, description="Pause after a restart loop is detected."
    )
    dependent_healthy_timeout_seconds: int = Field(
        180,
        ge=5,
        le=3600,
        description="How long a recreated dependent may take to be running, healthy and in "
        "gluetun's namespace before the attempt counts as failed.",
    )
    dependent_attempts: int = Field(
        4, ge=1, le=10, description="Recreate attempts per dependent within one cascade."
    )
    dependent_retry_seconds: int = Field(
        5,
        ge=1,
        le=300,
        description="Wait before a dependent's second attempt; doubled for each further one "
        "(at most 60 s).",
    )
    autoheal_grace_seconds: int = Field(
        30,
        ge=0,
        le=3600,
        description="How long a container labelled autoheal=true stays unhealthy before it is "
        "restarted.",
    )
    autoheal_gluetun_grace_seconds: int = Field(
        180,
        ge=0,
        le=3600,
        description="The same for gluetun, whose healthcheck flaps while it restarts its own VPN "
        "connection.",
    )
    autoheal_max_restarts_per_hour: int = Field(
        3,
        ge=1,
        le=60,
        description="Autoheal restarts per container in any rolling hour; beyond that it is left "
        "alone (crash loop) and reported.",
    )
    state_file: Path = Field(
        Path(".mediastack/supervisor.db"),
        description="The supervisor's SQLite state (rate-limit window, pause, the cascade in "
        "flight, history); relative to the folder holding mediastack.yaml.",
    )
    image_base: str = Field(
        "python:3.11-slim-bookworm",
        min_length=1,
        description="Base image (with python3 3.11+ and venv) `mediastack up` builds the "
        "supervisor's image on, when that image is missing or older than the installed "
        "mediastack; pulled once if not local.",
    )


_CRON_PATTERN = r"^[^ \t]+([ \t]+[^ \t]+){4}$"


class PortSync(StrictModel):
    """Keep qBittorrent's listen port equal to the VPN's forwarded port."""

    enabled: bool = Field(True, description="Sync the forwarded port (needs vpn.port_forwarding).")
    interval_seconds: int = Field(
        300, ge=30, le=86400, description="Safety-net check interval besides gluetun (re)starts."
    )
    port_wait_seconds: int = Field(
        120, ge=5, le=3600, description="How long to wait for gluetun to report a port (not 0)."
    )
    qbittorrent_username: str = Field("admin", description="qBittorrent WebUI user name.")
    qbittorrent_password_variable: str = Field(
        "QBITTORRENT_PASSWORD",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the qBittorrent WebUI password (`init` "
        "generates it; `up` writes its PBKDF2 hash into qBittorrent.conf before the first "
        "start, and Sonarr, Radarr, cross-seed and port sync log in with it).",
    )


class Wiring(StrictModel):
    """Keep the apps connected to each other (``mediastack wire``) from the supervisor."""

    enabled: bool = Field(
        True,
        description="The supervisor re-wires the apps at start, after cascades, updates and "
        "restores, and on its timer (`mediastack up` and `mediastack wire` wire regardless).",
    )
    interval_seconds: int = Field(
        300, ge=30, le=86400, description="Seconds between the supervisor's safety-net wires."
    )
    app_wait_seconds: int = Field(
        60, ge=0, le=600, description="How long a wire waits, in all, for the apps to answer."
    )


class Webhook(StrictModel):
    """The What's Up Docker compatible webhook the supervisor serves."""

    enabled: bool = Field(False, description="Serve the webhook (WUD's HTTP trigger posts here).")
    bind_address: str | None = Field(
        None,
        description="Address the supervisor's listener (this webhook and the status pages) "
        "listens on. Unset: in the supervisor's container its "
        "own interfaces (the ops networks; the host publishes the port on "
        "network.bind_address only), in a supervisor run on the host 127.0.0.1. Plain HTTP: "
        "0.0.0.0 (every interface) only when set here; not a loopback address while the "
        "supervisor service is on.",
    )
    port: int = Field(
        8099,
        ge=1,
        le=65535,
        description="Port of the supervisor's listener (this webhook and the status page, "
        "API and metrics); the supervisor service publishes it on network.bind_address.",
    )
    token_variable: str = Field(
        "MEDIASTACK_WEBHOOK_TOKEN",
        pattern=_VARIABLE_PATTERN,
        description=(
            "Name of the .env variable holding the token callers must send (checked from the "
            "request's headers before a byte of its body is read; head and body together have "
            "one 10 s deadline)."
        ),
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=16_777_216, description="Largest request body accepted."
    )
    requests_per_minute: int = Field(30, ge=1, le=6000, description="Rate limit per client.")

    @field_validator("bind_address")
    @classmethod
    def _is_webhook_address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class StatusPage(StrictModel):
    """The supervisor's read-only status surface, on its one listener (the address and port
    of ``updates.webhook``): the live page, the JSON API, Prometheus metrics, dashboard labels
    and push pings. Nothing served here can change anything."""

    enabled: bool = Field(
        True,
        description="Serve / (the live status page), /api/v1/status, /api/v1/summary, "
        "/api/v1/events, /metrics and /health on updates.webhook.port (the supervisor service "
        "publishes it on network.bind_address).",
    )
    token_variable: str = Field(
        "MEDIASTACK_STATUS_TOKEN",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the read-only token every route but "
        "/health wants (`Authorization: Bearer <token>`, or Basic with it as the password); "
        "`init` and `up` generate it. Not wanted when the listener is bound to loopback only. "
        "It cannot trigger an update: the webhook has its own token.",
    )
    requests_per_minute: int = Field(
        120,
        ge=1,
        le=6000,
        description="Read requests allowed per client and minute (counted apart from the "
        "webhook's updates.webhook.requests_per_minute).",
    )
    dashboard_labels: bool = Field(
        True,
        description="Render Homepage (homepage.*, a customapi widget on /api/v1/summary) and "
        "Glance (glance.*; gluetun the parent of its dependents) labels on the services.",
    )
    dashboard_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/.*)?$",
        description="Base URL a dashboard reaches the supervisor at, e.g. "
        "http://192.168.1.10:8099. Unset: http://supervisor:<port> (a dashboard on the shared "
        "network).",
    )
    push_urls_variable: str = Field(
        "MEDIASTACK_PUSH_URLS",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding push-monitor URLs (healthchecks.io "
        "https://hc-ping.com/<uuid>, Uptime Kuma https://kuma.example/api/push/<token>), "
        "separated by spaces or commas. After each check (/health's verdict) each gets a "
        "ping: a success while healthy, a failure (healthchecks /fail, Kuma status=down, "
        "with the reason) when not; a plain URL is only fetched while healthy. At most 5 "
        "pings a minute per URL, 10 s each. Unset or empty pings nothing.",
    )
    push_interval_seconds: int = Field(
        60, ge=10, le=86400, description="Seconds between two checks that may ping."
    )


class Updates(StrictModel):
    """Image updates: checked without pulling, applied with health checks and rollback."""

    schedule: str = Field(
        "0 6 * * *", pattern=_CRON_PATTERN, description="Cron expression for the daily apply."
    )
    scheduled: bool = Field(
        True,
        description="The supervisor applies updates on `schedule` (services whose update "
        "policy is auto; notify ones are only reported, pin ones left alone).",
    )
    healthy_timeout_seconds: int = Field(
        300, ge=10, le=3600, description="How long an updated service may take to be healthy."
    )
    webhook: Webhook = Field(default_factory=Webhook, description="WUD webhook.")

    @field_validator("schedule")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        from croniter import croniter  # type: ignore[import-untyped]

        if not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a cron expression such as '0 6 * * *'")
        return value


class Backups(StrictModel):
    """Consistent config backups: SQLite through its online backup API, zstd tar, verified."""

    schedule: str = Field(
        "30 4 * * *", pattern=_CRON_PATTERN, description="Cron expression for scheduled backups."
    )
    scheduled: bool = Field(
        True,
        description="The supervisor backs up on `schedule` and notifies the outcome "
        "(`mediastack backup` works either way).",
    )
    keep_daily: int = Field(7, ge=0, le=366, description="Daily archives kept.")
    keep_weekly: int = Field(4, ge=0, le=520, description="Weekly archives kept.")
    keep_monthly: int = Field(6, ge=0, le=240, description="Monthly archives kept.")
    compression_level: int = Field(3, ge=1, le=19, description="zstd level.")
    exclude: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Extra patterns to leave out, per app folder ('*': every app), on top of "
        "each app's regenerable junk (Plex Cache, Logs, ...; the *arr apps' logs, logs.db, "
        "Backups). Gitignore-like: 'Media' matches that name at any depth, '/Media' or "
        "'a/b' only from the app folder, '**' any folders, e.g. {plex: ['/Library/Application "
        "Support/Plex Media Server/Media']}.",
    )


class Notifications(StrictModel):
    """Push notifications through Apprise URLs (ntfy first); the URLs live in .env (tokens)."""

    urls_variable: str = Field(
        "MEDIASTACK_NOTIFY_URLS",
        pattern=_VARIABLE_PATTERN,
        description="Name of the .env variable holding the Apprise URLs (e.g. "
        "ntfys://tk_...@ntfy.example.org/alerts), separated by spaces or commas; unset or "
        "empty sends nothing.",
    )
    minimum_priority: int = Field(
        1, ge=1, le=5, description="Messages below this priority (1 min .. 5 urgent) are not sent."
    )
    queue_size: int = Field(
        100,
        ge=1,
        le=10000,
        description="Messages waiting at most; when full the oldest is dropped and counted.",
    )
    max_attempts: int = Field(
        5,
        ge=1,
        le=20,
        description="Tries per message (backoff 2, 4, 8, 16 s, capped at 60 s) before it is "
        "logged and dropped.",
    )


class Config(StrictModel):
    """mediastack.yaml: the whole stack in one file."""

    name: str = Field(
        "mediastack",
        pattern=_NAME_PATTERN,
        description="Instance name; the compose projects are <name>-vpn, <name>-media, <name>-ops.",
    )
    folders: Folders = Field(default_factory=Folders, description="Host folders.")
    identity: Identity = Field(default_factory=Identity, description="PUID, PGID, TZ, UMASK.")
    network: Network = Field(default_factory=Network, description="Network and publishing.")
    vpn: Vpn = Field(default_factory=Vpn, description="The VPN (gluetun).")
    media_server: Literal["plex", "jellyfin"] = Field(
        "plex", description="Which media server is enabled by default."
    )
    services: dict[ServiceName, ServiceSettings] = Field(
        default_factory=dict, description="Per-service switches and overrides, keyed by name."
    )
    supervisor: Supervisor = Field(default_factory=Supervisor, description="Healing limits.")
    notifications: Notifications = Field(
        default_factory=Notifications, description="Push notifications."
    )
    portsync: PortSync = Field(default_factory=PortSync, description="Forwarded-port sync.")
    wiring: Wiring = Field(default_factory=Wiring, description="App-to-app links (wire).")
    updates: Updates = Field(default_factory=Updates, description="Image updates.")
    status: StatusPage = Field(
        default_factory=StatusPage, description="Status page, API, metrics, dashboards."
    )
    backups: Backups = Field(default_factory=Backups, description="Config backups.")
    apps: Apps = Field(default_factory=Apps, description="The apps' own config files.")


def variable_name_is_valid(name: str) -> bool:
    """Return True when ``name`` can be a .env variable (used by the secret checks)."""
    return re.fullmatch(_VARIABLE_PATTERN, name) is not None
