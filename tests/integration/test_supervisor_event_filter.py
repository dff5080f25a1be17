"""The event filter at the real engine: only containers labelled ``autoheal=true`` (every
service mediastack renders) reach the supervisor's stream; a host's other containers do not
wake it, whatever they do."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import yaml
from standins import compose
from test_supervisor_harness import wait_until

from mediastack.adapters.engine_socket import SocketEngine, endpoint_from_environment
from mediastack.adapters.errors import EngineUnreachableError
from mediastack.supervisor.runtime.event_stream import SocketEventSource


def write_project(folder: Path, image: str) -> Path:
    sleeper = {
        "image": image, "entrypoint": ["sleep", "3600"], "init": True, "pull_policy": "never",
        "network_mode": "none", "stop_grace_period": "1s",
    }  # fmt: skip
    services = {
        "ours": {
            **sleeper, "labels": {"autoheal": "true"},
            "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": "1s"},
        },
        "foreign": sleeper,  # a compose service of another project on the same host
        "other-autoheal-off": {**sleeper, "labels": {"autoheal": "false"}},
    }
    compose_file = folder / "compose.yaml"
    compose_file.write_text(yaml.safe_dump({"services": services}))
    return compose_file


def test_only_autoheal_labelled_containers_reach_the_stream(
    tmp_path: Path, standin_images: dict[str, str], compose_project_prefix: str
) -> None:
    project_name = f"{compose_project_prefix}filter"
    compose_file = write_project(tmp_path, standin_images["sonarr"])
    endpoint = endpoint_from_environment(os.environ)
    assert endpoint is not None
    subscription = SocketEventSource(SocketEngine.connect(endpoint)).open()
    received: list[dict[str, Any]] = []

    def read() -> None:
        with contextlib.suppress(EngineUnreachableError):  # how a closed stream ends
            received.extend(subscription)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        compose(project_name, compose_file, "up", "--detach")
        compose(project_name, compose_file, "restart")

        def service_events() -> list[tuple[str, str]]:
            return [
                (event["Actor"]["Attributes"]["com.docker.compose.service"], event["Action"])
                for event in list(received)
                if event["Actor"]["Attributes"].get("com.docker.compose.project") == project_name
            ]

        # start (up), then die, stop, start (restart), then its health: all of them come.
        def restarted_and_healthy() -> bool:
            seen = service_events()
            return seen.count(("ours", "start")) >= 2 and ("ours", "health_status: healthy") in seen

        wait_until(restarted_and_healthy, what="ours restarted and healthy")
    finally:
        subscription.close()
        reader.join(timeout=5)
    seen = service_events()
    assert {service for service, _ in seen} == {"ours"}
    assert {"start", "die", "stop", "health_status: healthy"} <= {action for _, action in seen}
