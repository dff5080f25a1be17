"""A homelab folder made by the real ``mediastack init``, pointed at the local stand-in images.

Every enabled service gets its stand-in image (``pull_policy: never``: nothing is pulled), a
host port in a private test range on 127.0.0.1, and fast healthcheck timing.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from supervisor_image import ensure_base_image

from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig, load_config

FAST_HEALTHCHECK = {"interval": "1s", "timeout": "3s", "retries": 3, "start_period": "10s"}
PORT_BASE = 28000


@dataclass(frozen=True)
class Homelab:
    root: Path
    prefix: str

    @property
    def config_path(self) -> Path:
        return self.root / "mediastack.yaml"

    def loaded(self) -> LoadedConfig:
        return load_config(self.config_path)

    def run(self, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this homelab; return the finished process."""
        return subprocess.run(
            [sys.executable, "-m", "mediastack", "-c", str(self.config_path), *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def host_port(self, service: str, port_name: str = "webui") -> int:
        settings = self.loaded().config.services[service]
        return settings.ports[port_name]


def make_homelab(
    root: Path, prefix: str, images: Mapping[str, str], *, supervisor: bool = False
) -> Homelab:
    """Given an empty folder, a test project prefix and stand-in images, run ``mediastack init``
    and rewrite its config to use the stand-ins; return the homelab (rendered).

    ``supervisor``: keep the supervisor on, as ``init`` leaves it, running the image ``up``
    builds (``mediastack/supervisor:<version>``) on the local Debian base instead of the
    registry's python image. Off otherwise: it would heal what a test wants to see broken."""
    homelab = Homelab(root, prefix)
    arguments = ["init", str(root), "--yes", "--name", prefix, "--bind-address", "127.0.0.1"]
    completed = subprocess.run(
        [sys.executable, "-m", "mediastack", *arguments],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    config: dict[str, Any] = yaml.safe_load(homelab.config_path.read_text())
    config["network"]["name"] = f"{prefix}_media"
    config["services"] = _standin_services(config, images)
    if supervisor:
        config["supervisor"]["image_base"] = ensure_base_image()
        # Its listener (the status pages, on by default) on a free port, not 8099: labs and
        # benchmarks may overlap on this engine.
        webhook = config.setdefault("updates", {}).setdefault("webhook", {})
        webhook["port"] = free_port()
    else:
        config["services"].setdefault("supervisor", {})["enabled"] = False
    homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env_path = root / ".env"
    env_path.write_text(env_path.read_text().replace("CHANGE_ME_", "test-value-"))
    rendered = homelab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    return homelab


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _standin_services(config: dict[str, Any], images: Mapping[str, str]) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for index, (name, definition) in enumerate(CATALOGUE.items()):
        if name not in images:
            continue
        settings: dict[str, Any] = {
            "image": images[name],
            "pull_policy": "never",
            "healthcheck": dict(FAST_HEALTHCHECK),
        }
        published = [port for port in definition.ports if port.publish]
        if published and name != "plex":  # plex is on the host network: its port is its own
            settings["ports"] = {port.name: PORT_BASE + index * 10 for port in published}
        services[name] = settings
    return services
