"""The supervisor benchmarks' lab AS SHIPPED: the supervisor is the ops stack's container,
built by the real ``mediastack up`` (``mediastack.supervisor_image``, on the local debootstrap
base of ``tests/integration/supervisor_image.py``), reaching the engine only through the
socket-proxy peer (``mediastack-peer/socket-proxy``: Debian's haproxy running
lscr.io/linuxserver/socket-proxy's own haproxy.cfg, ``tests/integration/peer_images.py``).

The vpn stack is the same as ``supervisor_lab``'s (gluetun stand-in + nine dependents), with
the real-app peers for qbittorrent (Debian's qbittorrent-nox), cross-seed and recyclarr (the
stand-ins that refuse a missing config) unless ``real_peers`` is off.

``proxy_timeout_seconds`` (footprint only, labelled in its results): a bench-only socket-proxy
image derived from the peer with haproxy's ``timeout client``/``timeout server`` (10m in the
real template) replaced, so an idle /events stream is cut within a short window. Everything
else in the rendered stacks is ``init``'s default.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from supervisor_lab import (  # it puts tests/integration on sys.path
    KEPT,
    Lab,
    build_images,
    docker,
    keep_only,
    make_homelab,
    remove_test_resources,
    settled,
    wait_until,
)

OPS = ("socket-proxy", "supervisor")
REAL_PEERS = ("qbittorrent", "cross-seed", "recyclarr")
PROXY_TEMPLATE = "/templates/haproxy.cfg"


@dataclass
class ShippedLab(Lab):
    """The lab, with the ops stack's supervisor container and socket proxy."""

    proxy_image: str = ""
    derived_images: tuple[str, ...] = ()

    @property
    def ops_project(self) -> str:
        return f"{self.prefix}-ops"

    def ops_container(self, service: str) -> str:
        """Return the id of ``service``'s container in the ops project (running or not)."""
        listed = docker(
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={self.ops_project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).stdout.split()
        if not listed:
            raise RuntimeError(f"no {service} container in {self.ops_project}")
        return listed[0]

    def supervisor_image(self) -> dict[str, str]:
        """Return the supervisor container's image id and its builder's source label (which
        code it runs: the image tag is shared by every lab on the engine)."""
        container = inspect_one(self.ops_container("supervisor"))
        image = inspect_one(container["Image"])
        labels = image["Config"].get("Labels") or {}
        return {
            "image_id": container["Image"][:19],
            "source_label": labels.get("org.mediastack.source", ""),
        }

    def supervisor_logs(self, since: float | None = None) -> str:
        arguments = ["logs", "--timestamps"]
        if since is not None:
            arguments += ["--since", f"{since:.3f}"]
        done = docker(*arguments, self.ops_container("supervisor"), check=False)
        return done.stdout + done.stderr

    def stop_supervisor(self) -> None:
        docker("stop", "-t", "60", self.ops_container("supervisor"), timeout=120)

    def start_supervisor(self, timeout: float = 120) -> float:
        """Start the supervisor container; return (host clock) when its first engine read was
        logged (it is watching then)."""
        container = self.ops_container("supervisor")
        begun = time.time()
        docker("start", container)
        wait_until(
            lambda: "engine read (the event stream" in self.supervisor_logs(begun - 1),
            timeout,
            "the supervisor container watching",
            every=0.2,
        )
        return time.time()


def derive_proxy_image(base: str, prefix: str, timeout_seconds: int) -> str:
    """Build ``base`` with haproxy's client/server timeouts set to ``timeout_seconds``; return
    the tag (the bench removes it)."""
    tag = f"{prefix}/socket-proxy:timeout-{timeout_seconds}s"
    dockerfile = (
        f"FROM {base}\n"
        f"RUN sed -i -e 's/timeout client 10m/timeout client {timeout_seconds}s/' "
        f"-e 's/timeout server 10m/timeout server {timeout_seconds}s/' {PROXY_TEMPLATE} "
        f"&& grep -q 'timeout client {timeout_seconds}s' {PROXY_TEMPLATE}\n"
    )
    subprocess.run(
        ["docker", "build", "--pull=false", "-q", "-t", tag, "-"],
        input=dockerfile,
        text=True,
        capture_output=True,
        check=True,
        timeout=300,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    return tag


def make_shipped_lab(
    root: Path,
    prefix: str,
    gluetun_healthy_after: float,
    *,
    real_peers: bool = True,
    proxy_timeout_seconds: int | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
) -> ShippedLab:
    """Run the real ``init`` and ``render``: gluetun, the nine, socket-proxy and supervisor on
    (every other service off), free host ports, autoheal held back an hour (the engine is
    shared: it must not restart others' containers), ``changes`` (section -> keys) applied to
    the config."""
    from peer_images import build_peer_images  # tests/integration: on sys.path by now

    images, extra = build_images(prefix, gluetun_healthy_after)
    peers = build_peer_images()
    derived = [extra] if extra else []
    proxy = peers["socket-proxy"]
    if proxy_timeout_seconds is not None:
        proxy = derive_proxy_image(proxy, prefix, proxy_timeout_seconds)
        derived.append(proxy)
    images["socket-proxy"] = proxy
    if real_peers:
        images.update({service: peers[service] for service in REAL_PEERS})
    homelab = make_homelab(root, prefix, images, supervisor=True)
    config = yaml.safe_load(homelab.config_path.read_text())
    keep_only(config, (*KEPT, *OPS), gluetun_healthy_timeout_seconds=120)
    # As shipped: the catalogue's healthcheck timing for the ops services (make_homelab gives
    # every stand-in a 1 s one; the proxy's would be a wget every second in the footprint).
    config["services"]["socket-proxy"].pop("healthcheck", None)
    for section, values in (changes or {}).items():
        config.setdefault(section, {}).update(values)
    homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rendered = homelab.run("render")
    if rendered.returncode != 0:
        raise RuntimeError(rendered.stdout + rendered.stderr)
    return ShippedLab(homelab, prefix, images["gluetun"], None, proxy, tuple(derived))


@contextlib.contextmanager
def running_shipped_lab(
    root: Path, prefix: str, gluetun_healthy_after: float, **options: Any
) -> Iterator[ShippedLab]:
    """Make the shipped lab, ``mediastack up`` (which builds the supervisor image when it is
    missing or stale), wait until settled and the supervisor watching; yield it; take it
    down and remove all it made, always."""
    remove_test_resources(prefix)
    lab: ShippedLab | None = None
    try:
        lab = make_shipped_lab(root, prefix, gluetun_healthy_after, **options)
        started = lab.run("up", timeout=900)
        if started.returncode != 0:
            raise RuntimeError(started.stdout + started.stderr)
        wait_until(lambda: lab is not None and settled(lab), 180, "the lab healthy")
        wait_until(
            lambda: lab is not None and "engine read (the event stream" in lab.supervisor_logs(),
            120,
            "the supervisor container watching",
        )
        yield lab
    finally:
        if lab is not None:
            lab.run("down", "--remove-network", timeout=300)
        remove_test_resources(prefix)
        if lab is not None:
            for image in lab.derived_images:
                docker("image", "rm", image, check=False)


# -- the supervisor container's log ------------------------------------------------------------

_DOCKER_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\s")


def log_lines_with_time(text: str) -> list[tuple[float, str]]:
    """Return (engine clock epoch seconds, line) for ``docker logs --timestamps`` output."""
    import calendar

    found = []
    for line in text.splitlines():
        match = _DOCKER_TIMESTAMP.match(line)
        if not match:
            continue
        seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
        fraction = float(f"0.{match.group(2)}") if match.group(2) else 0.0
        found.append((seconds + fraction, line[match.end() :]))
    return found


def inspect_one(container: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(docker("inspect", container).stdout)[0]
    return result


class SupervisorContainer:
    """The ops stack's supervisor container as one healer of the recovery benchmark: started
    (``docker start``) and watching before the restart, stopped (``docker stop``, SIGTERM)
    afterwards, so it is down while the baseline runs."""

    def __init__(self, lab: ShippedLab) -> None:
        self.lab = lab
        self.started_at = 0.0

    def start(self) -> SupervisorContainer:
        self.started_at = time.time()
        self.lab.start_supervisor()
        return self

    def wait_for_cascade_end(self, timeout: float) -> None:
        wait_until(lambda: " ended: " in self.log(), timeout, "the cascade's end logged")

    def stop(self) -> int:
        self.lab.stop_supervisor()
        state = inspect_one(self.lab.ops_container("supervisor"))["State"]
        return int(state["ExitCode"])

    def log(self) -> str:
        """The daemon's own log lines since this start (docker's timestamps stripped)."""
        text = self.lab.supervisor_logs(self.started_at - 1)
        return "\n".join(line for _, line in log_lines_with_time(text))
