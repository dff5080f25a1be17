"""Shared by the supervisor benchmarks: a homelab of the gluetun stand-in and its nine
stand-in dependents on a shared engine, the engine's event record, and /proc readers.

The lab is made by the real ``mediastack init`` and ``render`` (through
``tests/integration/homelab.py``), with every image built locally (``FROM scratch`` +
busybox-static; nothing is pulled), its own compose project prefix (``msbench`` + 6 hex
digits) and free host ports on 127.0.0.1, and is removed with everything it created.

``portsync_peers`` adds what port sync talks to, on 127.0.0.1: a stand-in of gluetun's
control server (its contract: ``GET /v1/portforward`` -> ``{"port": N}``, ``X-API-Key``
checked, 401 otherwise) and a real qBittorrent (Debian's ``qbittorrent-nox``).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT / "tests" / "integration"))
sys.path.insert(0, str(REPOSITORY_ROOT / "src"))

from homelab import Homelab, make_homelab  # noqa: E402

# Re-exported (``X as X``) for the benchmarks, which import only this module: it puts
# tests/integration on sys.path first.
from standins import (  # noqa: E402
    SERVICE_PORTS as SERVICE_PORTS,
)
from standins import (  # noqa: E402
    build_gluetun_standin,
    build_standin_images,
    remove_test_resources,
)
from standins import docker as docker  # noqa: E402
from test_supervisor_harness import EventRecorder as EventRecorder  # noqa: E402
from test_supervisor_harness import (  # noqa: E402
    SupervisorProcess as SupervisorProcess,
)
from test_supervisor_harness import children_of as children_of  # noqa: E402
from test_supervisor_harness import free_port as free_port  # noqa: E402
from test_supervisor_harness import keep_only  # noqa: E402
from test_supervisor_harness import wait_for_cascades as wait_for_cascades  # noqa: E402

from mediastack.catalogue import CATALOGUE  # noqa: E402
from mediastack.supervisor.runtime.job_child import (  # noqa: E402
    GLUETUN_URL_VARIABLE,
    QBITTORRENT_URL_VARIABLE,
)

DEPENDENTS = (
    "qbittorrent", "prowlarr", "flaresolverr", "sonarr", "radarr",
    "bazarr", "unpackerr", "cross-seed", "recyclarr",
)  # fmt: skip
GLUETUN = "gluetun"
KEPT = (GLUETUN, *DEPENDENTS)
HEALTH_PATHS = {
    "qbittorrent": "/",
    "prowlarr": "/ping",
    "flaresolverr": "/health",
    "sonarr": "/ping",
    "radarr": "/ping",
    "bazarr": "/ping",
}
"""The dependents whose web UI gluetun publishes, and the path each answers 200 on."""


def new_prefix() -> str:
    """Return a compose project prefix of our own: ``msbench`` + 6 hex digits."""
    return f"msbench{secrets.token_hex(3)}"


def median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.median(present), 3) if present else None


def machine() -> dict[str, Any]:
    """Return what the numbers were measured on."""
    version = docker("version", "--format", "{{.Server.Version}}", check=False).stdout.strip()
    compose = docker("compose", "version", "--short", check=False).stdout.strip()
    git = ["git", "-C", str(REPOSITORY_ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()  # fmt: skip
    dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True,
                           text=True, check=False).stdout.split("\n")  # fmt: skip
    return {
        "git_commit": commit,
        "src_files_changed_since_commit": len([line for line in dirty if line.strip()]),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "engine": version,
        "compose": compose,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


# -- the lab --------------------------------------------------------------------------------------


@dataclass
class Lab:
    """A rendered homelab and what the benchmark needs to know about it."""

    homelab: Homelab
    prefix: str
    gluetun_image: str
    extra_image: str | None

    @property
    def root(self) -> Path:
        return self.homelab.root

    @property
    def project(self) -> str:
        return f"{self.prefix}-vpn"

    @property
    def compose_file(self) -> Path:
        return self.root / "stacks" / "vpn" / "compose.yaml"

    def host_port(self, service: str) -> int:
        return self.homelab.host_port(service, _web_port_name(service))

    def urls(self) -> dict[str, str]:
        """Return service -> the URL it answers on through gluetun's published port."""
        return {
            service: f"http://127.0.0.1:{self.host_port(service)}{path}"
            for service, path in HEALTH_PATHS.items()
        }

    def containers(self) -> dict[str, str]:
        """Return service -> id of the running containers of the vpn project."""
        listed = docker(
            "ps", "--no-trunc", "--filter", f"label=com.docker.compose.project={self.project}",
            "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}',
        )  # fmt: skip
        pairs = (line.split() for line in listed.stdout.splitlines() if line.strip())
        return {service: container for container, service in pairs}

    def inspect_all(self) -> dict[str, dict[str, Any]]:
        """Return service -> ``docker inspect`` of its running container."""
        ids = self.containers()
        if not ids:
            return {}
        inspected = json.loads(docker("inspect", *ids.values()).stdout)
        by_id = {container["Id"]: container for container in inspected}
        return {service: by_id[container] for service, container in ids.items()}

    def compose(self, *arguments: str, timeout: float = 300) -> None:
        folder = self.compose_file.parent
        docker(
            "compose", "-p", self.project, "-f", str(self.compose_file),
            "--project-directory", str(folder), *arguments, timeout=timeout,
        )  # fmt: skip

    def run(self, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.homelab.run(*arguments, timeout=timeout)


def _web_port_name(service: str) -> str:
    published = [port.name for port in CATALOGUE[service].ports if port.publish]
    return published[0]


def build_images(prefix: str, gluetun_healthy_after: float) -> tuple[dict[str, str], str | None]:
    """Build (or reuse) the stand-in images; when ``gluetun_healthy_after`` differs from the
    stand-in's default (1 s), derive a gluetun image of our own with that delay. Return
    service -> image, and the derived image's tag (to remove) or None."""
    images = build_standin_images({service: SERVICE_PORTS[service] for service in DEPENDENTS})
    images[GLUETUN] = build_gluetun_standin()
    if gluetun_healthy_after == 1:
        return images, None
    tag = f"{prefix}/gluetun:healthy-after-{gluetun_healthy_after:g}"
    dockerfile = f"FROM {images[GLUETUN]}\nENV STANDIN_HEALTHY_AFTER={gluetun_healthy_after:g}\n"
    subprocess.run(
        ["docker", "build", "--pull=false", "-q", "-t", tag, "-"],
        input=dockerfile, text=True, capture_output=True, check=True, timeout=300,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )  # fmt: skip
    images[GLUETUN] = tag
    return images, tag


def make_lab(root: Path, prefix: str, gluetun_healthy_after: float) -> Lab:
    """Run the real ``init`` and ``render`` for gluetun and the nine dependents only (every
    other catalogue service off), on free host ports, with a supervisor that only cascades
    (autoheal grace an hour: on a shared engine it must not restart others' containers)."""
    images, extra = build_images(prefix, gluetun_healthy_after)
    homelab = make_homelab(root, prefix, images)
    config = yaml.safe_load(homelab.config_path.read_text())
    keep_only(config, KEPT, gluetun_healthy_timeout_seconds=120)
    # Port sync reaches gluetun and qBittorrent by service name on the shared bridge network,
    # which only works from the supervisor's container; run on the host it can only fail.
    config["portsync"]["enabled"] = False
    homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rendered = homelab.run("render")
    if rendered.returncode != 0:
        raise RuntimeError(rendered.stdout + rendered.stderr)
    return Lab(homelab, prefix, images[GLUETUN], extra)


def config_variant(lab: Lab, name: str, changes: dict[str, dict[str, Any]]) -> Path:
    """Write a sibling of mediastack.yaml (same folder, so the same rendered stacks) with
    ``changes`` (section -> keys) applied; return its path."""
    config = yaml.safe_load(lab.homelab.config_path.read_text())
    for section, values in changes.items():
        config.setdefault(section, {}).update(values)
    path = lab.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def running_lab(root: Path, prefix: str, gluetun_healthy_after: float) -> Iterator[Lab]:
    """Make the lab, bring it up, yield it; take it down and remove all it made, always."""
    remove_test_resources(prefix)
    lab: Lab | None = None
    try:
        lab = make_lab(root, prefix, gluetun_healthy_after)
        started = lab.run("up", timeout=600)
        if started.returncode != 0:
            raise RuntimeError(started.stdout + started.stderr)
        wait_until(lambda: lab is not None and settled(lab), 120, "the lab healthy")
        yield lab
    finally:
        if lab is not None:
            lab.run("down", "--remove-network", timeout=300)
        remove_test_resources(prefix)
        if lab is not None and lab.extra_image:
            docker("image", "rm", lab.extra_image, check=False)


def settled(lab: Lab) -> bool:
    """Return True when gluetun and every dependent run healthy, each dependent in gluetun's
    network namespace, and every published web UI answers."""
    inspected = lab.inspect_all()
    if set(inspected) != set(KEPT):
        return False
    gluetun = inspected[GLUETUN]
    namespace = _namespace(gluetun)
    for container in inspected.values():
        if container["State"].get("Health", {}).get("Status") != "healthy":
            return False
    for service in DEPENDENTS:
        container = inspected[service]
        if container["HostConfig"]["NetworkMode"] != f"container:{gluetun['Id']}":
            return False
        if _namespace(container) != namespace:
            return False
    return all(answers(url) for url in lab.urls().values())


def _namespace(container: dict[str, Any]) -> str | None:
    try:
        return os.readlink(f"/proc/{container['State']['Pid']}/ns/net")
    except OSError:
        return None


def answers(url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Return the first truthy ``check()``; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# -- the engine's event record ------------------------------------------------------------------


def event_time(event: dict[str, Any]) -> float:
    """Return the event's engine time, in epoch seconds."""
    return float(event["timeNano"]) / 1e9


def event_service(event: dict[str, Any]) -> str | None:
    service: str | None = (
        event.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.service")
    )
    return service


# -- /proc -----------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def status_field(pid: int, name: str) -> int | None:
    """Return a ``kB`` or count field of /proc/PID/status (e.g. VmRSS), or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return None


def cpu_ticks(pid: int) -> dict[str, int] | None:
    """Return utime, stime, cutime, cstime of /proc/PID/stat (clock ticks), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return {"utime": utime, "stime": stime, "cutime": cutime, "cstime": cstime}


def context_switches(pid: int) -> int | None:
    """Return the voluntary + involuntary context switches of all of PID's threads so far
    (a thread that sleeps until woken counts one per wakeup), or None."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            text = (task / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                total += int(line.split()[1])
    return total


# -- what port sync talks to -----------------------------------------------------------------------


class GluetunControlStandIn:
    """gluetun's control server as port sync uses it, on 127.0.0.1 in this process: ``GET
    /v1/portforward`` answers ``{"port": forwarded_port}`` to the right ``X-API-Key``, 401 to
    any other (as gluetun does); it counts the requests."""

    def __init__(self, forwarded_port: int, api_key: str) -> None:
        self.requests: list[str] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                if self.headers.get("X-API-Key") != api_key:
                    self._answer(401, b"Unauthorized")
                elif self.path == "/v1/portforward":
                    self._answer(200, json.dumps({"port": forwarded_port}).encode())
                else:
                    self._answer(404, b"Not Found")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *arguments: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class PortSyncPeers:
    """gluetun's control server (stand-in) and qBittorrent, already in the steady state of an
    install: qBittorrent listens on the forwarded port with random port and UPnP off, so a
    sync writes nothing and sends nothing."""

    gluetun: GluetunControlStandIn
    qbittorrent_url: str
    qbittorrent_password: str
    api_key: str
    forwarded_port: int

    def environment(self, api_key: str | None = None) -> dict[str, str]:
        """The variables a supervisor on the host needs to sync with these peers (the ones
        its container would have, and where to reach them instead of by service name);
        ``api_key`` replaces gluetun's key (a wrong one: gluetun refuses, port sync fails)."""
        return {
            GLUETUN_URL_VARIABLE: self.gluetun.url,
            QBITTORRENT_URL_VARIABLE: self.qbittorrent_url,
            "GLUETUN_API_KEY": api_key or self.api_key,
            "QBITTORRENT_PASSWORD": self.qbittorrent_password,
        }


@contextlib.contextmanager
def portsync_peers() -> Iterator[PortSyncPeers]:
    """Start the control-server stand-in and a qbittorrent-nox; yield them; stop both."""
    from test_portsync_qbittorrent import running_qbittorrent_nox

    forwarded_port = 40000 + secrets.randbelow(1000)
    api_key = secrets.token_hex(16)
    gluetun = GluetunControlStandIn(forwarded_port, api_key)
    try:
        with running_qbittorrent_nox(listen_port=forwarded_port) as qbittorrent:
            qbittorrent.set_preferences({"random_port": False, "upnp": False})
            yield PortSyncPeers(
                gluetun, qbittorrent.url, qbittorrent.password, api_key, forwarded_port
            )
    finally:
        gluetun.close()
