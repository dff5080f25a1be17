"""One definition per service. To add a service, add one entry here; the renderer, the linter,
the config schema (``services.<name>``) and ``mediastack status`` pick it up from this table.

Health probes use only what the real image ships (linuxserver and hotio images have curl; node
alpine images have busybox wget). The renderer prefixes the probes of services in gluetun's
namespace with a guard that fails when the namespace has no interface but ``lo``.
"""

from __future__ import annotations

from mediastack.catalogue.model import (
    DataMount,
    Healthcheck,
    Port,
    ServiceDefinition,
    Stack,
    Zone,
)


def _curl(port: int, path: str = "/") -> Healthcheck:
    return Healthcheck(probe=f"curl -fsS -o /dev/null http://localhost:{port}{path}")


def _wget(port: int, path: str = "/") -> Healthcheck:
    return Healthcheck(probe=f"wget -q -O /dev/null http://localhost:{port}{path}")


def _arr_authentication(prefix: str) -> dict[str, str]:
    """Sonarr 4, Radarr 6 and Prowlarr 2 read ``<APP>__AUTH__*`` from the environment
    (``ConfigFileProvider``, Servarr's ``AuthOptions``). With a method set, first boot shows no
    "authentication required" wizard; ``DisabledForLocalAddresses`` keeps the UI open from the
    LAN while the login user (created by ``mediastack wire``) guards everything else."""
    return {
        f"{prefix}__AUTH__METHOD": "Forms",
        f"{prefix}__AUTH__REQUIRED": "DisabledForLocalAddresses",
    }


GLUETUN = ServiceDefinition(
    name="gluetun",
    description="WireGuard VPN client with a kill switch; owns the download services' namespace",
    image="qmcgaw/gluetun",
    tag="v3",
    stack=Stack.VPN,
    zone=Zone.GLUETUN,
    healthcheck=Healthcheck(
        probe="/gluetun-entrypoint healthcheck", interval="10s", timeout="5s", start_period="30s"
    ),
    ports=(Port("control", 8000, publish=False),),
    config_target="/gluetun",
    linuxserver_identity=False,
    cap_add=("NET_ADMIN",),
    devices=("/dev/net/tun:/dev/net/tun",),
    website="https://github.com/qdm12/gluetun",
)

VPN_DEPENDENTS: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        name="qbittorrent",
        description="BitTorrent client (the download client)",
        image="lscr.io/linuxserver/qbittorrent",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(8080),
        ports=(Port("webui", 8080),),
        data_mount=DataMount.ALL,
        environment={"WEBUI_PORT": "8080"},
        download_capable=True,
        hardlink_set=True,
        website="https://www.qbittorrent.org",
    ),
    ServiceDefinition(
        name="prowlarr",
        description="Indexer manager for the *arr apps",
        image="lscr.io/linuxserver/prowlarr",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(9696, "/ping"),
        ports=(Port("webui", 9696),),
        secrets={"PROWLARR__AUTH__APIKEY": "PROWLARR_API_KEY"},
        environment=_arr_authentication("PROWLARR"),
        download_capable=True,
        website="https://prowlarr.com",
    ),
    ServiceDefinition(
        name="flaresolverr",
        description="Cloudflare challenge solver used by prowlarr",
        image="ghcr.io/flaresolverr/flaresolverr",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(8191, "/health"),
        ports=(Port("api", 8191),),
        config_target=None,
        environment={"LOG_LEVEL": "info"},
        linuxserver_identity=False,
        download_capable=True,
        website="https://github.com/FlareSolverr/FlareSolverr",
    ),
    ServiceDefinition(
        name="sonarr",
        description="TV series manager",
        image="lscr.io/linuxserver/sonarr",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(8989, "/ping"),
        ports=(Port("webui", 8989),),
        data_mount=DataMount.ALL,
        secrets={"SONARR__AUTH__APIKEY": "SONARR_API_KEY"},
        environment=_arr_authentication("SONARR"),
        download_capable=True,
        hardlink_set=True,
        website="https://sonarr.tv",
    ),
    ServiceDefinition(
        name="radarr",
        description="Movie manager",
        image="lscr.io/linuxserver/radarr",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(7878, "/ping"),
        ports=(Port("webui", 7878),),
        data_mount=DataMount.ALL,
        secrets={"RADARR__AUTH__APIKEY": "RADARR_API_KEY"},
        environment=_arr_authentication("RADARR"),
        download_capable=True,
        hardlink_set=True,
        website="https://radarr.video",
    ),
    ServiceDefinition(
        name="bazarr",
        description="Subtitle manager for sonarr and radarr",
        image="lscr.io/linuxserver/bazarr",
        tag="latest",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(6767),
        ports=(Port("webui", 6767),),
        data_mount=DataMount.ALL,
        download_capable=True,
        website="https://www.bazarr.media",
    ),
    ServiceDefinition(
        name="unpackerr",
        description="Extracts archived downloads for sonarr and radarr",
        image="ghcr.io/hotio/unpackerr",
        tag="release",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_curl(5656, "/metrics"),
        ports=(Port("metrics", 5656, publish=False),),
        data_mount=DataMount.ALL,
        environment={
            "UN_WEBSERVER_METRICS": "true",
            "UN_WEBSERVER_LISTEN_ADDR": "0.0.0.0:5656",
            "UN_SONARR_0_URL": "http://localhost:8989",
            "UN_SONARR_0_PATHS_0": "/data/torrents/tv",
            "UN_RADARR_0_URL": "http://localhost:7878",
            "UN_RADARR_0_PATHS_0": "/data/torrents/movies",
        },
        secrets={"UN_SONARR_0_API_KEY": "SONARR_API_KEY", "UN_RADARR_0_API_KEY": "RADARR_API_KEY"},
        hardlink_set=True,
        website="https://unpackerr.zip",
    ),
    ServiceDefinition(
        name="cross-seed",
        description="Finds cross-seedable torrents and injects them into qbittorrent",
        image="ghcr.io/cross-seed/cross-seed",
        tag="6",
        stack=Stack.VPN,
        zone=Zone.VPN,
        healthcheck=_wget(2468, "/api/ping"),
        ports=(Port("api", 2468, publish=False),),
        data_mount=DataMount.ALL,
        linuxserver_identity=False,
        command=("daemon",),
        run_as_identity=True,
        # cross-seed 6 logs in to qBittorrent at start and retries only every 60 s
        # (src/startup.ts): started together, it is still unhealthy when `up --wait` looks.
        depends_on=("qbittorrent",),
        download_capable=True,
        hardlink_set=True,
        website="https://www.cross-seed.org",
    ),
    ServiceDefinition(
        name="recyclarr",
        description="Syncs TRaSH guide quality profiles into sonarr and radarr on a schedule",
        image="ghcr.io/recyclarr/recyclarr",
        tag="8",
        stack=Stack.VPN,
        zone=Zone.VPN,
        # No web UI: the namespace guard plus a writable config folder is the whole probe.
        healthcheck=Healthcheck(probe="test -w /config", interval="60s"),
        linuxserver_identity=False,
        environment={"CRON_SCHEDULE": "@daily"},
        # recyclarr.yml names them with ``!env_var``, so the keys never sit in that file.
        secrets={"SONARR_API_KEY": "SONARR_API_KEY", "RADARR_API_KEY": "RADARR_API_KEY"},
        run_as_identity=True,
        website="https://recyclarr.dev",
    ),
)

MEDIA_SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        name="plex",
        description="Media server (host network, so discovery and direct play work)",
        image="lscr.io/linuxserver/plex",
        tag="latest",
        stack=Stack.MEDIA,
        zone=Zone.HOST,
        healthcheck=_curl(32400, "/identity"),
        ports=(Port("webui", 32400),),
        data_mount=DataMount.MEDIA,
        environment={"VERSION": "docker"},
        optional_secrets={"PLEX_CLAIM": "PLEX_CLAIM"},
        website="https://www.plex.tv",
    ),
    ServiceDefinition(
        name="jellyfin",
        description="Media server, the free alternative to plex",
        image="lscr.io/linuxserver/jellyfin",
        tag="latest",
        stack=Stack.MEDIA,
        zone=Zone.BRIDGE,
        healthcheck=_curl(8096, "/health"),
        ports=(Port("webui", 8096),),
        data_mount=DataMount.MEDIA,
        website="https://jellyfin.org",
    ),
    ServiceDefinition(
        name="seerr",
        description="Request manager for plex and jellyfin users",
        image="ghcr.io/seerr-team/seerr",
        tag="latest",
        stack=Stack.MEDIA,
        zone=Zone.BRIDGE,
        healthcheck=_wget(5055, "/api/v1/status"),
        ports=(Port("webui", 5055),),
        config_target="/app/config",
        linuxserver_identity=False,
        secrets={"API_KEY": "SEERR_API_KEY"},
        init=True,
        website="https://github.com/seerr-team/seerr",
    ),
    ServiceDefinition(
        name="maintainerr",
        description="Rule-based cleanup of media nobody watches",
        image="ghcr.io/maintainerr/maintainerr",
        tag="latest",
        stack=Stack.MEDIA,
        zone=Zone.BRIDGE,
        healthcheck=_wget(6246),
        ports=(Port("webui", 6246),),
        config_target="/opt/data",
        linuxserver_identity=False,
        run_as_identity=True,
        website="https://maintainerr.info",
    ),
    ServiceDefinition(
        name="suggestarr",
        description="Requests titles similar to what was recently watched",
        image="ciuse99/suggestarr",
        tag="latest",
        stack=Stack.MEDIA,
        zone=Zone.BRIDGE,
        healthcheck=_curl(5000),
        ports=(Port("webui", 5000),),
        config_target="/app/config/config_files",
        linuxserver_identity=False,
        website="https://github.com/giuseppe99barchetta/SuggestArr",
    ),
)


def _socket_proxy(
    name: str,
    description: str,
    network: str,
    allowed: dict[str, str],
    enabled_with: str | None = None,
) -> ServiceDefinition:
    """A lscr.io/linuxserver/socket-proxy (HAProxy in front of the engine's socket) answering
    on ``network`` only and allowing the API sections ``allowed`` names."""
    return ServiceDefinition(
        name=name,
        description=description,
        image="lscr.io/linuxserver/socket-proxy",
        tag="latest",
        stack=Stack.OPS,
        zone=Zone.BRIDGE,
        healthcheck=_wget(2375, "/_ping"),
        ports=(Port("api", 2375, publish=False),),
        config_target=None,
        linuxserver_identity=False,
        environment=allowed,
        extra_volumes=("/var/run/docker.sock:/var/run/docker.sock:ro",),
        read_only=True,
        tmpfs=("/run",),
        engine_network=network,
        enabled_with=enabled_with,
        website="https://docs.linuxserver.io/images/docker-socket-proxy",
    )


# Upstream's haproxy.cfg gates every method but GET on POST=1, then each path prefix on its
# variable (CONTAINERS=1 opens /containers/*, create and start included). ALLOW_START,
# ALLOW_STOP and ALLOW_RESTARTS are checked before the POST gate, so they open those paths even
# with POST=0: they are left unset (0) here, since POST=1 and CONTAINERS=1 already open them
# to the supervisor, and WUD must not have them.
SUPERVISOR_ENGINE_ACCESS = {
    # The daemon: /version, /containers/json and /{id}/json, /containers/{id}/start and
    # /restart, /events, /images/{name}/json, /images/{id}/tag, DELETE /images/{id}.
    # Compose (up, create, start, stop, restart, down, pull, ps): /_ping, /version, /info,
    # /containers (create, remove, rename, start, stop, networks of a container),
    # /networks (the ops stack's internal networks, the shared bridge), /images/create.
    # No /volumes: the rendered projects declare no named volume, and compose carries an
    # image's anonymous volumes over on recreate from the old container, not the volume API.
    "CONTAINERS": "1",
    "EVENTS": "1",
    "IMAGES": "1",
    "INFO": "1",
    "NETWORKS": "1",
    "PING": "1",
    "POST": "1",
    "VERSION": "1",
}
# What's Up Docker's local watcher reads only: GET /containers/json, /containers/{id}/json,
# /images/{name}/json and /events (getwud/wud, app/watchers/providers/docker/Docker.ts);
# /_ping is the proxy's own healthcheck. It updates nothing: updates are the supervisor's,
# through the webhook.
READ_ONLY_ENGINE_ACCESS = {
    "CONTAINERS": "1",
    "EVENTS": "1",
    "IMAGES": "1",
    "PING": "1",
    "POST": "0",
    "VERSION": "1",
    "ALLOW_START": "0",
    "ALLOW_STOP": "0",
    "ALLOW_RESTARTS": "0",
}
SOCKET_PROXY = "socket-proxy"
READ_ONLY_SOCKET_PROXY = "socket-proxy-read-only"

OPS_SERVICES: tuple[ServiceDefinition, ...] = (
    _socket_proxy(
        SOCKET_PROXY,
        "The supervisor's way to the docker socket (it creates containers: root-equivalent); "
        "reachable only on the ops stack's internal docker-api network, by the supervisor",
        "docker-api",
        SUPERVISOR_ENGINE_ACCESS,
    ),
    _socket_proxy(
        READ_ONLY_SOCKET_PROXY,
        "What's Up Docker's read-only way to the docker socket (GET only); on its own "
        "internal network, on whenever whatsupdocker is",
        "docker-api-read-only",
        READ_ONLY_ENGINE_ACCESS,
        enabled_with="whatsupdocker",
    ),
    ServiceDefinition(
        name="supervisor",
        description="mediastack's own supervisor: VPN cascade healing, autoheal, port sync, "
        "updates, backups, notifications (its image is built locally by `mediastack up`)",
        image="mediastack/supervisor",
        tag="0.1.0",
        stack=Stack.OPS,
        zone=Zone.BRIDGE,
        # Rendered as a POSIX sh test of the heartbeat file the daemon's loop writes next to
        # its state file (render.compose, supervisor.runtime.heartbeat): the same verdict as
        # this command, without starting Python every 30 s.
        healthcheck=Healthcheck(probe="mediastack supervise --check", start_period="30s"),
        config_target=None,
        linuxserver_identity=False,
        command=("supervise",),
        depends_on=(SOCKET_PROXY,),
        engine_proxy=SOCKET_PROXY,
        mounts_homelab=True,
        pid_host=True,
        pull_policy="never",
        # SIGTERM lets a running compose call, update or backup finish before the stop.
        stop_grace_period="240s",
        environment={
            "DOCKER_HOST": "tcp://socket-proxy:2375",
            # Where the update webhook listens when updates.webhook.bind_address is unset (a
            # daemon without this variable, run on a host, listens on 127.0.0.1). 0.0.0.0 here
            # is the container's own interfaces, not the host's: lo, the shared bridge (WUD,
            # and the target of the published port, which the host binds on
            # network.bind_address only) and the internal docker-api network (the socket
            # proxy alone, which calls no one). Binding the bridge address instead would
            # reach the same callers, and Docker assigns it only when the container starts.
            "MEDIASTACK_WEBHOOK_BIND_ADDRESS": "0.0.0.0",
        },
        website="https://github.com/mediastack/mediastack",
    ),
    ServiceDefinition(
        name="ntfy",
        description="Self-hosted push notification server",
        image="binwiederhier/ntfy",
        tag="latest",
        stack=Stack.OPS,
        zone=Zone.BRIDGE,
        healthcheck=_wget(80, "/v1/health"),
        ports=(Port("webui", 80),),
        config_target="/var/cache/ntfy",
        linuxserver_identity=False,
        command=("serve",),
        enabled_by_default=False,
        website="https://ntfy.sh",
    ),
    ServiceDefinition(
        name="whatsupdocker",
        description="Watches registries for new image versions",
        image="getwud/wud",
        tag="latest",
        stack=Stack.OPS,
        zone=Zone.BRIDGE,
        healthcheck=_curl(3000, "/health"),
        ports=(Port("webui", 3000),),
        config_target="/store",
        linuxserver_identity=False,
        environment={
            "WUD_WATCHER_LOCAL_HOST": READ_ONLY_SOCKET_PROXY,
            "WUD_WATCHER_LOCAL_PORT": "2375",
        },
        enabled_by_default=False,
        depends_on=(READ_ONLY_SOCKET_PROXY,),
        engine_proxy=READ_ONLY_SOCKET_PROXY,
        website="https://getwud.github.io/wud",
    ),
    ServiceDefinition(
        name="tautulli",
        description="Plex usage statistics",
        image="lscr.io/linuxserver/tautulli",
        tag="latest",
        stack=Stack.OPS,
        zone=Zone.BRIDGE,
        healthcheck=_curl(8181, "/status"),
        ports=(Port("webui", 8181),),
        enabled_by_default=False,
        website="https://tautulli.com",
    ),
)

CATALOGUE: dict[str, ServiceDefinition] = {
    definition.name: definition
    for definition in (GLUETUN, *VPN_DEPENDENTS, *MEDIA_SERVICES, *OPS_SERVICES)
}

MEDIA_SERVERS = ("plex", "jellyfin")
