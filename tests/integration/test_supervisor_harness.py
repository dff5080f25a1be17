"""Helpers of the supervisor's engine tests (no tests here): a small homelab (gluetun and four
dependents, nothing else), the supervisor as a real subprocess with its log, a socket relay
to the engine that a test can cut (an engine restart as the supervisor sees it), and the
engine's own event record to count recreates and measure recovery.

Every wait is bounded; nothing asserts on wall-clock durations (they are printed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker as dockersdk
import httpx
import yaml
from homelab import Homelab, make_homelab
from standins import docker

from mediastack.catalogue import CATALOGUE
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import FinishedCascade
from mediastack.supervisor.runtime.job_protocol import CHILD_MODULE as JOB_CHILD_MODULE
from mediastack.supervisor.runtime.report import read_report

DEPENDENTS = ("prowlarr", "qbittorrent", "radarr", "sonarr")
KEPT = ("gluetun", *DEPENDENTS)
PING_PATHS = {"prowlarr": "/ping", "qbittorrent": "/", "radarr": "/ping", "sonarr": "/ping"}
# Bounds, not expectations: the machine is shared (2 cores, other suites may run beside).
WAIT_SECONDS = 120.0
ENGINE_SOCKET = "/var/run/docker.sock"


def wait_until(check: Callable[[], Any], timeout: float = WAIT_SECONDS, what: str = "") -> Any:
    """Return the first truthy ``check()``, polling every 0.2 s; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or check}")
        time.sleep(0.2)


# -- the homelab ----------------------------------------------------------------------------


def make_small_homelab(root: Path, prefix: str, images: dict[str, str]) -> Homelab:
    """Run the real ``init`` and ``render`` with only gluetun and four dependents enabled, on
    host ports of their own."""
    lab = make_homelab(root, prefix, {name: images[name] for name in KEPT})
    config = yaml.safe_load(lab.config_path.read_text())
    keep_only(config, KEPT, gluetun_healthy_timeout_seconds=20)
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rendered = lab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    return lab


def keep_only(config: dict[str, Any], kept: Iterable[str], **supervisor: Any) -> None:
    """Change an init'ed config: every catalogue service but ``kept`` off, ``kept`` on free
    host ports (other labs may be up on the shared engine meanwhile), the supervisor with
    ``supervisor``'s settings, at most 60 cascades an hour, and autoheal held back for an
    hour: it watches every autoheal=true container on the engine, and on a shared engine it
    must not restart another test's containers (its policy is unit-tested). The wire job is
    off: a daemon on the host cannot reach the apps by service name, as the supervisor's
    container does, so every run would only report them unreachable (the daemon's wire is
    tested where it ships: test_shipped_lab.py)."""
    kept = tuple(kept)
    for name in CATALOGUE:
        if name not in kept:
            config["services"].setdefault(name, {})["enabled"] = False
    for name in kept:
        settings = config["services"].setdefault(name, {})
        settings["ports"] = {port: free_port() for port in settings.get("ports", {})}
    config.setdefault("wiring", {})["enabled"] = False
    config["supervisor"].update(
        max_cascades_per_hour=60,
        autoheal_grace_seconds=3600,
        autoheal_gluetun_grace_seconds=3600,
        **supervisor,
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def config_variant(lab: Homelab, name: str, **supervisor: Any) -> Path:
    """Write a sibling of mediastack.yaml (same folder, so the same stacks) whose supervisor
    section has ``supervisor`` changed; return its path."""
    config = yaml.safe_load(lab.config_path.read_text())
    config["supervisor"].update(supervisor)
    path = lab.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def vpn_compose(lab: Homelab, *arguments: str) -> None:
    """Run ``docker compose`` on the lab's vpn project."""
    folder = lab.root / "stacks" / "vpn"
    docker(
        "compose", "--project-name", f"{lab.prefix}-vpn", "--file", str(folder / "compose.yaml"),
        "--project-directory", str(folder), *arguments, timeout=180,
    )  # fmt: skip


def inspect(container: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(docker("inspect", container).stdout)[0]
    return result


def containers(prefix: str, every: bool = False) -> dict[str, str]:
    """Return service -> id of the running (``every``: all) containers of the lab's vpn
    project."""
    listed = docker(
        "ps", *(["--all"] if every else []), "--no-trunc",
        "--filter", f"label=com.docker.compose.project={prefix}-vpn",
        "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}',
    )  # fmt: skip
    return dict(reversed(line.split()) for line in listed.stdout.splitlines() if line.strip())


def namespace(container: dict[str, Any]) -> str:
    return os.readlink(f"/proc/{container['State']['Pid']}/ns/net")


def assert_healed_into_gluetun(lab: Homelab) -> None:
    """Every dependent runs in gluetun's current namespace and answers on its published port."""
    ids = containers(lab.prefix)
    gluetun = inspect(ids["gluetun"])
    for service in DEPENDENTS:
        dependent = inspect(ids[service])
        assert dependent["HostConfig"]["NetworkMode"] == f"container:{gluetun['Id']}", service
        assert namespace(dependent) == namespace(gluetun), service
        url = f"http://127.0.0.1:{lab.host_port(service)}{PING_PATHS[service]}"
        wait_until(lambda url=url: _answers(url), 20, f"{service} answering on {url}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def gluetun_unhealthy_file(lab: Homelab, present: bool) -> None:
    """Make the gluetun stand-in's healthcheck fail (or pass again)."""
    gluetun = containers(lab.prefix)["gluetun"]
    command = ["touch"] if present else ["rm", "-f"]
    docker("exec", gluetun, *command, "/tmp/standin-unhealthy")


# -- the supervisor process -----------------------------------------------------------------


@dataclass
class SupervisorProcess:
    """``python -m mediastack -c CONFIG supervise --state-file STATE`` with its output kept."""

    config: Path
    state_file: Path
    environment: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    _condition: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> SupervisorProcess:
        command = [sys.executable, "-m", "mediastack", "-c", str(self.config), "supervise",
                   "--state-file", str(self.state_file)]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.environment},
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("event stream connected; watching")
        self.wait_for(r"engine read \(the event stream")
        return self

    def wait_for(self, pattern: str, timeout: float = WAIT_SECONDS, after: int = 0) -> str:
        """Return the first log line (from line ``after`` on) matching ``pattern``."""
        expression = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = next((line for line in self.lines[after:] if expression.search(line)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.process is not None and self.process.poll() is not None):
                    raise AssertionError(f"no log line matching {pattern!r}:\n{self.log()}")
                self._condition.wait(min(left, 0.5))

    def stop(self) -> int:
        """SIGTERM, then wait (bounded); return the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # its threads' stacks, into its log
            time.sleep(1)
            tree = subprocess.run(
                ["ps", "-ww", "-e", "-o", "pid,ppid,pgid,etimes,args", "--forest"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            ours = [line for line in tree.splitlines() if "mediastack" in line or "docker" in line]
            self.process.kill()
            self.process.wait(timeout=10)
            listing = "\n".join(ours)
            raise AssertionError(
                f"no exit 60 s after SIGTERM; its processes:\n{listing}\n{self.log()}"
            ) from None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def children(self) -> list[int]:
        """Return the pids of the compose calls this process runs: its children but its job
        runs (port sync, updates, backups), each a process of its own."""
        assert self.process is not None
        return [pid for pid in children_of(self.process.pid) if not is_job_process(pid)]

    def log(self) -> str:
        with self._condition:
            return "\n".join(self.lines)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._condition:
                self.lines.append(line.rstrip("\n"))
                self._condition.notify_all()


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def is_job_process(pid: int) -> bool:
    """Return True for a supervisor's job run (``python -m <job child module> JOB``)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return JOB_CHILD_MODULE.encode() in command


def has_exited(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has exited


def history(state_file: Path) -> tuple[FinishedCascade, ...]:
    """Return the finished cascades in the state file, most recent first."""
    return read_report(state_file, Supervisor(), datetime.now(UTC)).history


def wait_for_cascades(
    state_file: Path,
    count: int,
    timeout: float = WAIT_SECONDS,
    supervisor: SupervisorProcess | None = None,
) -> Any:
    """Return the history once it holds ``count`` finished cascades (most recent first); a
    timeout shows ``supervisor``'s log when given."""
    try:
        return wait_until(
            lambda: (found := history(state_file)) and len(found) >= count and found,
            timeout,
            f"{count} finished cascade(s) in {state_file}",
        )
    except AssertionError as error:
        if supervisor is None:
            raise
        raise AssertionError(f"{error}; the supervisor's log:\n{supervisor.log()}") from None


# -- what the engine recorded -----------------------------------------------------------------


RECORDED_ACTIONS = ["create", "start", "kill", "die", "stop", "destroy", "health_status"]


class EventRecorder:
    """Records container events live, with the engine's ``timeNano``, from its creation to
    ``stop``. (The engine keeps only its last 256 events for ``docker events --since``: with
    healthchecks running every second that is a few seconds on a busy engine.) The
    benchmarks record with it too."""

    def __init__(self, filters: dict[str, Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self._client = dockersdk.from_env()
        self._stream = self._client.events(decode=True, filters=filters)
        self._thread = threading.Thread(target=self._record, daemon=True)
        self._thread.start()

    @classmethod
    def for_project(cls, project: str) -> EventRecorder:
        """Record the containers of compose project ``project``."""
        label = f"com.docker.compose.project={project}"
        return cls({"type": "container", "label": label, "event": RECORDED_ACTIONS})

    @classmethod
    def for_lab(cls, prefix: str) -> EventRecorder:
        """Record the vpn project of the lab named ``prefix``."""
        return cls.for_project(f"{prefix}-vpn")

    def stop(self, settle: float = 0.5) -> list[dict[str, Any]]:
        """End the recording (after ``settle`` s for events in flight); return it."""
        time.sleep(settle)
        with contextlib.suppress(Exception):
            self._stream.close()
        self._thread.join(10)
        self._client.close()
        return self.events

    def _record(self) -> None:
        with contextlib.suppress(Exception):  # ends when the stream is closed
            for event in self._stream:
                self.events.append(event)


def creates_per_service(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        if event["Action"] == "create":
            service = event["Actor"]["Attributes"]["com.docker.compose.service"]
            counts[service] = counts.get(service, 0) + 1
    return counts


def recovery(events: list[dict[str, Any]]) -> dict[str, float]:
    """Measure, on the engine's clock, a cascade in ``events``: gluetun start -> healthy,
    gluetun healthy -> first dependent started (its new container; prepared ones are created
    before gluetun is healthy), and -> the last dependent healthy."""

    def moment(event: dict[str, Any]) -> float:
        return float(event["timeNano"]) / 1e9

    def service(event: dict[str, Any]) -> str:
        return str(event["Actor"]["Attributes"].get("com.docker.compose.service"))

    started = next(moment(e) for e in events if service(e) == "gluetun" and e["Action"] == "start")
    healthy = next(
        moment(e)
        for e in events
        if service(e) == "gluetun"
        and e["Action"] == "health_status: healthy"
        and moment(e) >= started
    )
    first_start = min(
        moment(e)
        for e in events
        if service(e) in DEPENDENTS and e["Action"] == "start" and moment(e) >= healthy
    )
    last = max(
        moment(e)
        for e in events
        if service(e) in DEPENDENTS
        and e["Action"] == "health_status: healthy"
        and moment(e) > first_start
    )
    return {
        "gluetun_start_to_healthy": round(healthy - started, 3),
        "healthy_to_first_start": round(first_start - healthy, 3),
        "healthy_to_all_dependents_healthy": round(last - healthy, 3),
    }


# -- a relay to the engine that can be cut ---------------------------------------------------------


class EngineRelay:
    """A Unix socket relaying to the engine's. ``cut`` drops every connection and refuses new
    ones (what a client sees while dockerd restarts); ``restore`` accepts again."""

    def __init__(self, path: Path, upstream: str = ENGINE_SOCKET) -> None:
        self.path = path
        self._upstream = upstream
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def restore(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            live, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
            self.path.unlink(missing_ok=True)
        for connection in live:
            _close(connection)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self._upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):  # cut, or the other side closed
        while data := source.recv(65536):
            target.sendall(data)
    _close(target)
    _close(source)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down by the other direction
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
