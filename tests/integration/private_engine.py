"""A Docker engine of a test's own: a second ``dockerd`` with its own data root, exec root,
pid file and socket, in a network namespace of its own, so a test can stop and start it (a
real engine restart) while the shared engine (/var/run/docker.sock) and what runs on it are
untouched.

Why a network namespace of its own: a second dockerd in the host's namespace deletes the host's
``docker0``, the shared engine's default bridge, and no flag prevents it (moby 20.10,
daemon/daemon_unix.go, ``initNetworkController``; seen here, twice):
- with ``--bridge=none``, at every start (``removeDefaultBridgeInterface``, "--bridge=none use
  case"; it deletes the link named docker0, whoever made it);
- with ``--default-address-pool`` set (or ``default-address-pools`` in its config), at every
  start after the first: "Clear stale bridge network" deletes its stored default network and
  then, the pools being set and live-restore off, the link named docker0 again; with a bridge
  of another name (``--bridge=NAME``) too;
- without a pool of its own, its networks take subnets (172.18.0.0/16...) that the shared
  engine's networks already route.
In its own namespace ``docker0`` names nothing (it is started with ``--bridge=none``), its
bridges, veths, routes and the ``docker-proxy`` of its published ports live there, and
deleting the namespace deletes them all: cleanup never touches an interface of the host.
``--iptables=false --ip6tables=false --ip-masq=false --ip-forward=false`` besides: it writes
no netfilter rule and no sysctl even there. ``start`` refuses to run dockerd outside it.

Its published ports answer on the namespace's 127.0.0.1: ``get`` fetches a URL from in there
(busybox wget through ``nsenter``). Its unix socket, ``/proc/<pid>/ns/net`` of its containers
and its files are the host's, so the docker CLI, compose and the supervisor run on the host
with ``DOCKER_HOST`` pointing at it.

The exec root is a short folder in /tmp, not under pytest's tmp dir: dockerd puts unix
sockets in it (containerd's, libnetwork's ``<64 hex>.sock``) and a socket path has at most 107
characters. Everything else (data root, log) is under the test's tmp dir.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from standins import find_static_busybox

POOL_OPTION = "base=10.213.0.0/16,size=24"
START_SECONDS = 60.0
STOP_SECONDS = 60.0
"""Bounds: a dockerd stopping stops its containers first (10 s each at most, in parallel)."""


def missing_requirements() -> str | None:
    """Return why no private engine can be started here, or None when one can."""
    if os.geteuid() != 0:
        return "a private dockerd in a network namespace of its own needs root"
    for tool in ("dockerd", "ip", "nsenter", "umount"):
        if shutil.which(tool) is None:
            return f"no `{tool}` on PATH"
    return None


def link_state(name: str) -> str | None:
    """Return the host's interface ``name`` as ``INDEX: NAME MAC`` (what a deleted and made
    again interface does not keep), or None when there is no such interface."""
    shown = _run("ip", "-o", "link", "show", name)
    if shown.returncode != 0:
        return None
    address = re.search(r"link/ether (\S+)", shown.stdout)
    index = shown.stdout.split(":", 1)[0]
    return f"{index}: {name} {address.group(1) if address else '-'}"


def host_links() -> set[str]:
    """Return the names of the host's network interfaces."""
    listed = _run("ip", "-o", "link", "show").stdout.splitlines()
    return {line.split(":")[1].strip().split("@")[0] for line in listed}


def _run(*command: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class PrivateEngine:
    """One private dockerd; ``start`` and ``stop`` it as often as needed, ``remove`` once."""

    folder: Path
    exec_root: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="mse", dir="/tmp"))
    )
    namespace: str = field(default_factory=lambda: f"mstest-engine-{os.urandom(3).hex()}")
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.exec_root / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def data_root(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "dockerd.log"

    @property
    def namespace_path(self) -> Path:
        return Path("/run/netns") / self.namespace

    def command(self) -> list[str]:
        """Return dockerd's command line, run in the engine's network namespace."""
        config = self.folder / "daemon.json"
        config.write_text("{}\n")  # not /etc/docker/daemon.json: the shared engine's settings
        return [
            "nsenter", f"--net={self.namespace_path}", "--",
            "dockerd",
            f"--config-file={config}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.exec_root / 'x'}",
            f"--pidfile={self.folder / 'dockerd.pid'}",
            f"--host={self.docker_host}",
            "--bridge=none",  # harmless only inside its own namespace: see the docstring
            "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
            f"--default-address-pool={POOL_OPTION}",
        ]  # fmt: skip

    def start(self, timeout: float = START_SECONDS) -> None:
        """Start dockerd in its namespace (made the first time); return once it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.namespace_path.exists():
            self._make_namespace()
        command = self.command()
        assert command[:2] == ["nsenter", f"--net={self.namespace_path}"], "never on the host"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the private dockerd did not answer:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM dockerd and wait for it to exit (it stops its containers first); SIGKILL
        it and what it started when it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            self._kill_leftovers()
            raise AssertionError(f"dockerd did not exit {timeout:.0f} s after SIGTERM") from None

    def answers(self) -> bool:
        """Return True when the engine answers ``GET /_ping``."""
        request = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(2)
                connection.connect(str(self.socket_path))
                connection.sendall(request)
                return connection.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def get(self, url: str) -> bool:
        """Return True when ``url`` answers 2xx from inside the engine's namespace (where
        its published ports are). (Debian's static busybox wget crashes with ``-T``: the
        bound is the subprocess's.)"""
        command = ["nsenter", f"--net={self.namespace_path}", "--",
                   find_static_busybox(), "wget", "-q", "-O", "/dev/null", url]  # fmt: skip
        try:
            fetched = subprocess.run(command, capture_output=True, timeout=5, check=False)
        except subprocess.TimeoutExpired:
            return False
        return fetched.returncode == 0

    def docker(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``docker --host <this engine> ARGUMENTS``; raise on failure."""
        completed = _run("docker", f"--host={self.docker_host}", *arguments, timeout=timeout)
        if completed.returncode != 0:
            raise AssertionError(f"docker {' '.join(arguments)}: {completed.stderr.strip()}")
        return completed

    def load(self, images: Iterable[str], timeout: float = 180) -> None:
        """Copy ``images`` from the shared engine into this one (``docker save | load``)."""
        save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
        try:
            loaded = subprocess.run(
                ["docker", f"--host={self.docker_host}", "load", "--quiet"],
                stdin=save.stdout, capture_output=True, text=True, timeout=timeout, check=False,
            )  # fmt: skip
        finally:
            assert save.stdout is not None
            save.stdout.close()
            saved = save.wait(timeout)
        assert saved == 0 and loaded.returncode == 0, loaded.stderr

    def remove(self) -> None:
        """Remove everything of this engine, whatever state it is in: its containers and
        networks (by itself), dockerd, its mounts, its namespace, its folders."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):  # a broken engine: the rest still runs
                self._remove_contents()
        with contextlib.suppress(AssertionError):
            self.stop()
        self._kill_leftovers()
        self._unmount()
        if self.namespace_path.exists():  # its bridges and veths go with it
            _run("ip", "netns", "delete", self.namespace)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        shutil.rmtree(self.data_root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _make_namespace(self) -> None:
        for command in (
            ("ip", "netns", "add", self.namespace),
            ("ip", "-n", self.namespace, "link", "set", "lo", "up"),  # published ports
        ):
            done = _run(*command)
            assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"

    def _remove_contents(self) -> None:
        listed = self.docker("ps", "--all", "--quiet").stdout.split()
        if listed:
            self.docker("rm", "--force", "--volumes", *listed)
        networks = self.docker("network", "ls", "--filter", "type=custom", "--quiet")
        if networks.stdout.split():
            self.docker("network", "rm", *networks.stdout.split())

    def _kill_leftovers(self) -> None:
        """SIGKILL what a killed dockerd left running: the processes (containerd, its shims,
        docker-proxy) whose command line names this engine's exec root."""
        marker = str(self.exec_root).encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (entry / "cmdline").read_bytes():
                        os.kill(int(entry.name), signal.SIGKILL)

    def _unmount(self) -> None:
        """Unmount whatever is still mounted under the data root or exec root, deepest first."""
        roots = (str(self.data_root), str(self.exec_root))
        mounted = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")  # octal escapes: \040
            if any(point == root or point.startswith(root + "/") for root in roots):
                mounted.append(point)
        for point in sorted(mounted, key=len, reverse=True):
            if _run("umount", point).returncode != 0:
                _run("umount", "-l", point)
