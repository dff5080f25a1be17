"""`mediastack portsync` against a real qBittorrent and the gluetun stand-in.

qBittorrent is Debian's qbittorrent-nox 4.5.2 on the host (see test_portsync_qbittorrent).
No real gluetun can run here (no VPN); the stand-in follows its control-server contract and
picks a new forwarded port at every start. Its control port is published on 127.0.0.1 by a
small compose project (``<prefix>-vpn``, service ``gluetun``, on network ``<prefix>_media``,
so the engine lookup the host CLI does by default finds it too). busybox httpd cannot check
gluetun's ``X-API-Key``; a second stand-in, ``gluetun-locked``, gets an httpd.conf that puts
``/v1`` behind a password, so it answers 401 as gluetun does to a wrong key.

Every CLI run is a real ``python -m mediastack`` process; the tests reach everything through
127.0.0.1 only.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from standins import (
    build_gluetun_standin,
    compose,
    docker,
    remove_abandoned_test_resources,
    remove_test_resources,
    session_prefix,
)
from test_portsync_qbittorrent import QbittorrentNox, free_port, running_qbittorrent_nox

from mediastack.config import load_config
from mediastack.portsync.wiring import host_endpoints

CLI_TIMEOUT_SECONDS = 120
LOGIN_FAILURE = "WebAPI login failure"
# Not passed on by the proxy: httpx has already decoded and de-chunked the body it sends.
HOP_BY_HOP = {"content-length", "connection", "transfer-encoding", "content-encoding"}


@dataclass(frozen=True)
class GluetunStandin:
    """The running stand-in project: where its control servers answer on 127.0.0.1."""

    prefix: str
    compose_file: Path
    port: int
    locked_port: int

    @property
    def project(self) -> str:
        return f"{self.prefix}-vpn"

    @property
    def network(self) -> str:
        return f"{self.prefix}_media"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def locked_url(self) -> str:
        return f"http://127.0.0.1:{self.locked_port}"

    def forwarded_port(self) -> int:
        port: int = httpx.get(f"{self.url}/v1/portforward", timeout=10).json()["port"]
        return port

    def restart(self) -> None:
        """Restart gluetun in place: it picks a new forwarded port."""
        compose(self.project, self.compose_file, "restart", "gluetun")


def standin_compose(prefix: str, image: str, port: int, locked_port: int, folder: Path) -> str:
    locked_config = folder / "httpd.conf"
    locked_config.write_text(f"/v1:gluetun:{secrets.token_hex(8)}\n", encoding="utf-8")
    service = {
        "image": image,
        "pull_policy": "never",
        "healthcheck": {"interval": "1s", "timeout": "3s", "retries": 3, "start_period": "10s"},
    }
    document = {
        "name": f"{prefix}-vpn",
        "services": {
            "gluetun": {**service, "ports": [f"127.0.0.1:{port}:8000"]},
            "gluetun-locked": {
                **service,
                "ports": [f"127.0.0.1:{locked_port}:8000"],
                "volumes": [f"{locked_config}:/etc/httpd.conf:ro"],
            },
        },
        "networks": {"default": {"name": f"{prefix}_media"}},
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def gluetun(
    docker_engine: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GluetunStandin]:
    """The stand-in project, up and healthy for the whole module (it is only restarted)."""
    image = build_gluetun_standin()
    folder = tmp_path_factory.mktemp("portsync-gluetun")
    prefix = f"{session_prefix()}ps{secrets.token_hex(3)}"
    standin = GluetunStandin(prefix, folder / "compose.yaml", free_port(), free_port())
    standin.compose_file.write_text(
        standin_compose(prefix, image, standin.port, standin.locked_port, folder)
    )
    remove_abandoned_test_resources()
    try:
        compose(standin.project, standin.compose_file, "up", "-d", "--wait", "--wait-timeout", "60")
        yield standin
    finally:
        remove_test_resources(prefix)


@dataclass
class Homelab:
    """A config folder for the CLI: mediastack.yaml and .env."""

    folder: Path
    gluetun: GluetunStandin
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.folder / "mediastack.yaml"

    def write(self) -> None:
        config = {
            "name": self.gluetun.prefix,
            "network": {"name": self.gluetun.network},
            "portsync": {"port_wait_seconds": 30},
        }
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        lines = [f"{key}={value}" for key, value in self.secrets.items()]
        (self.folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def portsync(
        self, qbittorrent_url: str, *arguments: str, gluetun_url: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.write()
        command = [sys.executable, "-m", "mediastack", "-c", str(self.config_path), "portsync"]
        command += ["--gluetun-url", gluetun_url or self.gluetun.url]
        command += ["--qbittorrent-url", qbittorrent_url, *arguments]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False
        )

    def report(
        self, qbittorrent_url: str, *arguments: str, gluetun_url: str | None = None
    ) -> dict[str, Any]:
        """Run portsync with JSON output; return the report (whatever the exit code)."""
        completed = self.portsync(
            qbittorrent_url, "--format", "json", *arguments, gluetun_url=gluetun_url
        )
        assert "Traceback" not in completed.stderr, completed.stderr
        report: dict[str, Any] = json.loads(completed.stdout)
        report["exit_code"] = completed.returncode
        return report


@pytest.fixture
def homelab(tmp_path: Path, gluetun: GluetunStandin) -> Homelab:
    return Homelab(tmp_path, gluetun, {"GLUETUN_API_KEY": secrets.token_hex(16)})


def listen_state(peer: QbittorrentNox) -> tuple[int, bool, bool]:
    preferences = peer.preferences()
    return preferences["listen_port"], preferences["random_port"], preferences["upnp"]


class RecordingProxy:
    """A reverse proxy on 127.0.0.1 in front of qBittorrent that records each request's
    method and path: the proof that a run wrote nothing is that no setPreferences passed."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                proxy.requests.append((self.command, self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                # Host names the proxy: httpx sets the target's own (qBittorrent checks it).
                dropped = {"host", "content-length", "connection", "accept-encoding"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                answer = httpx.request(
                    self.command, proxy.target + self.path, headers=headers, content=body
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler

    def writes(self) -> list[tuple[str, str]]:
        return [request for request in self.requests if request[1].endswith("/setPreferences")]


def test_after_a_gluetun_restart_qbittorrent_listens_on_the_new_port(
    homelab: Homelab, gluetun: GluetunStandin
) -> None:
    with running_qbittorrent_nox(listen_port=0) as peer:  # random port on, UPnP on
        homelab.secrets["QBITTORRENT_PASSWORD"] = peer.password
        assert listen_state(peer) == (0, True, True)

        dry = homelab.report(peer.url, "--dry-run")
        assert (dry["exit_code"], dry["status"]) == (0, "would_change")
        assert listen_state(peer) == (0, True, True)

        first_port = gluetun.forwarded_port()
        first = homelab.report(peer.url)
        assert (first["exit_code"], first["status"], first["forwarded_port"]) == (
            0,
            "changed",
            first_port,
        )
        assert listen_state(peer) == (first_port, False, False)

        with RecordingProxy(peer.url) as proxy:
            again = homelab.report(proxy.url)
        assert (again["status"], again["written"]) == ("unchanged", False)
        assert proxy.requests and proxy.writes() == []  # read through it, wrote nothing

        gluetun.restart()
        second = homelab.report(peer.url)  # portsync itself waits for the control server
        second_port = gluetun.forwarded_port()
        assert second_port != first_port
        assert (second["exit_code"], second["status"], second["forwarded_port"]) == (
            0,
            "changed",
            second_port,
        )
        assert listen_state(peer) == (second_port, False, False)
        assert homelab.report(peer.url)["status"] == "unchanged"


def test_a_gluetun_refusing_the_key_is_a_clear_error(
    homelab: Homelab, gluetun: GluetunStandin
) -> None:
    unused = f"http://127.0.0.1:{free_port()}"  # gluetun's refusal comes first
    completed = homelab.portsync(unused, gluetun_url=gluetun.locked_url)
    report = homelab.report(unused, gluetun_url=gluetun.locked_url)
    said = " ".join(completed.stderr.split())  # the console wraps long lines
    assert completed.returncode == 1
    assert "refused /v1/portforward (401)" in said and "GLUETUN_API_KEY" in said
    assert "Traceback" not in completed.stderr + completed.stdout
    assert (report["exit_code"], report["problem"]) == (1, "gluetun_unauthorized")
    assert report["waited_seconds"] < 5  # a refused key is not waited out


def test_qbittorrent_down_is_a_clear_error(homelab: Homelab) -> None:
    completed = homelab.portsync(f"http://127.0.0.1:{free_port()}")
    assert completed.returncode == 1
    assert "cannot reach qBittorrent's WebUI" in " ".join(completed.stderr.split())
    assert "Traceback" not in completed.stderr + completed.stdout


def test_a_wrong_password_is_one_failed_login_and_a_clear_error(homelab: Homelab) -> None:
    with running_qbittorrent_nox() as peer:
        homelab.secrets["QBITTORRENT_PASSWORD"] = "not-" + peer.password
        completed = homelab.portsync(peer.url)
        log = peer.log_text()
    assert completed.returncode == 1
    assert "rejected the user name or password" in " ".join(completed.stderr.split())
    assert "Traceback" not in completed.stderr + completed.stdout
    assert log.count(LOGIN_FAILURE) == 1  # each failure counts towards qBittorrent's ban


def test_without_a_password_the_local_auth_bypass_is_used(homelab: Homelab) -> None:
    with running_qbittorrent_nox(bypass_localhost=True) as peer:
        report = homelab.report(peer.url)
        log = peer.log_text()
        state = listen_state(peer)
    assert (report["exit_code"], report["status"]) == (0, "changed")
    assert state == (report["forwarded_port"], False, False)
    assert LOGIN_FAILURE not in log


def test_without_a_password_and_bypass_no_login_is_tried(homelab: Homelab) -> None:
    with running_qbittorrent_nox() as peer:
        report = homelab.report(peer.url)
        log = peer.log_text()
    assert (report["exit_code"], report["problem"]) == (1, "qbittorrent_login_required")
    assert LOGIN_FAILURE not in log


def test_the_host_finds_gluetun_through_the_engine(
    homelab: Homelab, gluetun: GluetunStandin
) -> None:
    homelab.write()
    endpoints = host_endpoints(load_config(homelab.config_path))  # resolves; contacts nothing
    address = docker(
        "inspect",
        "--format",
        f'{{{{(index .NetworkSettings.Networks "{gluetun.network}").IPAddress}}}}',
        f"{gluetun.project}-gluetun-1",
    ).stdout.strip()
    assert address
    assert endpoints.gluetun_url == f"http://{address}:8000"
    assert endpoints.qbittorrent_url == f"http://{address}:8080"
