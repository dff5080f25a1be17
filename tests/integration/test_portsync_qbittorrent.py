"""A real qBittorrent for the port-sync tests: Debian's ``qbittorrent-nox`` on the host.

:func:`running_qbittorrent_nox` starts one in a throwaway profile whose ``qBittorrent.conf``
is written beforehand: WebUI on 127.0.0.1 and a free port, a known password (stored the way
qBittorrent stores it, PBKDF2-HMAC-SHA512), peers on the loopback interface only, DHT, local
peer discovery and peer exchange off; the process is killed and the profile removed at the
end. The tests below pin the facts about qBittorrent 4.5.2 that the adapter relies on; the
module also captures the unit tests' fixtures::

    python tests/integration/test_portsync_qbittorrent.py capture \\
        tests/unit/portsync/fixtures/qbittorrent-4.5.2
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

QBITTORRENT_NOX = "qbittorrent-nox"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
PBKDF2_ITERATIONS = 100_000  # qBittorrent's own (base/utils/password.cpp)
BANNED_TEXT = "Your IP address has been banned after too many failed authentication attempts."


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def password_hash(password: str) -> str:
    """Return ``password`` as qBittorrent stores it in ``WebUI\\Password_PBKDF2``."""
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS, 64)
    encoded = f"{base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()}"
    return f'"@ByteArray({encoded})"'


def profile_configuration(
    *,
    webui_port: int,
    password: str,
    bypass_localhost: bool,
    listen_port: int,
    max_failed_logins: int,
) -> str:
    """Return a qBittorrent.conf for a test instance (see the module docstring)."""
    return "\n".join(
        [
            "[LegalNotice]",
            "Accepted=true",
            "",
            "[BitTorrent]",
            f"Session\\Port={listen_port}",
            "Session\\Interface=lo",
            "Session\\InterfaceName=lo",
            "Session\\InterfaceAddress=127.0.0.1",
            "Session\\DHTEnabled=false",
            "Session\\LSDEnabled=false",
            "Session\\PeXEnabled=false",
            "",
            "[Preferences]",
            "WebUI\\Address=127.0.0.1",
            f"WebUI\\Port={webui_port}",
            "WebUI\\Username=admin",
            f"WebUI\\Password_PBKDF2={password_hash(password)}",
            f"WebUI\\LocalHostAuth={'false' if bypass_localhost else 'true'}",
            f"WebUI\\MaxAuthenticationFailCount={max_failed_logins}",
            "",
        ]
    )


@dataclass
class QbittorrentNox:
    """One running qbittorrent-nox."""

    profile: Path
    webui_port: int
    username: str
    password: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    @property
    def log_path(self) -> Path:
        return self.profile / "qBittorrent" / "data" / "logs" / "qbittorrent.log"

    def log_text(self) -> str:
        """Return qBittorrent's own log so far (empty when it wrote none yet)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @contextlib.contextmanager
    def session(self) -> Iterator[httpx.Client]:
        """Yield an HTTP client logged in to this instance."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            answer = client.post(
                "/api/v2/auth/login", data={"username": self.username, "password": self.password}
            )
            assert answer.text == "Ok.", answer.text
            yield client

    def preferences(self) -> dict[str, Any]:
        """Return the full preferences, read through a fresh session."""
        with self.session() as client:
            answer = client.get("/api/v2/app/preferences")
            answer.raise_for_status()
            preferences: dict[str, Any] = answer.json()
            return preferences

    def set_preferences(self, changes: Mapping[str, Any]) -> None:
        with self.session() as client:
            client.post(
                "/api/v2/app/setPreferences", data={"json": json.dumps(dict(changes))}
            ).raise_for_status()


@contextlib.contextmanager
def running_qbittorrent_nox(
    *,
    password: str | None = None,
    bypass_localhost: bool = False,
    listen_port: int = 0,
    max_failed_logins: int = 5,
) -> Iterator[QbittorrentNox]:
    """Start qbittorrent-nox in a throwaway profile (listen_port 0: random port on); yield
    it once its WebUI answers; kill it and remove the profile afterwards. Skip the test when
    qbittorrent-nox is not installed."""
    binary = shutil.which(QBITTORRENT_NOX)
    if binary is None:
        pytest.skip("qbittorrent-nox is not installed (scripts/test installs it)")
    profile = Path(tempfile.mkdtemp(prefix="mediastack-qbittorrent-"))
    chosen_password = password or secrets.token_urlsafe(12)
    webui_port = free_port()
    configuration = profile_configuration(
        webui_port=webui_port,
        password=chosen_password,
        bypass_localhost=bypass_localhost,
        listen_port=listen_port,
        max_failed_logins=max_failed_logins,
    )
    try:
        peer = _start(binary, profile, webui_port, chosen_password, configuration)
        try:
            yield peer
        finally:
            _stop(peer.process)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _start(
    binary: str, profile: Path, webui_port: int, password: str, configuration: str
) -> QbittorrentNox:
    config_folder = profile / "qBittorrent" / "config"
    config_folder.mkdir(parents=True)
    (config_folder / "qBittorrent.conf").write_text(configuration, encoding="utf-8")
    output = (profile / "stdout.txt").open("wb")
    # stdin is not a terminal: 4.5.2 then does not wait for the legal notice to be accepted.
    process = subprocess.Popen(
        [binary, f"--profile={profile}"],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output.close()  # the child has its own copy
    peer = QbittorrentNox(profile, webui_port, "admin", password, process)
    try:
        _wait_until_answering(peer)
    except BaseException:
        _stop(process)
        raise
    return peer


def _wait_until_answering(peer: QbittorrentNox) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if peer.process.poll() is not None:
            raise RuntimeError(
                f"qbittorrent-nox exited {peer.process.returncode}:\n{peer.log_text()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{peer.url}/api/v2/app/version", timeout=2).status_code in (200, 403):
                return
        time.sleep(0.1)
    raise RuntimeError(f"qbittorrent-nox did not answer in {START_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop our qbittorrent-nox (by its own pid): SIGTERM, then SIGKILL when it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)


# --- the facts the adapter relies on (qBittorrent 4.5.2, WebAPI 2.8.19) --------------------


@pytest.fixture
def peer() -> Iterator[QbittorrentNox]:
    with running_qbittorrent_nox(listen_port=40000 + secrets.randbelow(1000)) as started:
        yield started


def test_without_a_session_the_api_answers_403(peer: QbittorrentNox) -> None:
    answer = httpx.get(f"{peer.url}/api/v2/app/preferences", timeout=10)
    assert (answer.status_code, answer.text) == (403, "Forbidden")


def test_a_wrong_password_answers_200_fails(peer: QbittorrentNox) -> None:
    answer = httpx.post(
        f"{peer.url}/api/v2/auth/login", data={"username": "admin", "password": "wrong"}
    )
    assert (answer.status_code, answer.text) == (200, "Fails.")


def test_a_foreign_origin_or_host_port_answers_401(peer: QbittorrentNox) -> None:
    with peer.session() as client:
        origin = client.get("/api/v2/app/preferences", headers={"Origin": "http://elsewhere"})
        host = client.get(
            "/api/v2/app/preferences", headers={"Host": f"127.0.0.1:{peer.webui_port + 1}"}
        )
        plain = client.get("/api/v2/app/preferences")
    assert (origin.status_code, origin.text) == (401, "Unauthorized")
    assert (host.status_code, host.text) == (401, "Unauthorized")
    assert plain.status_code == 200


def test_random_port_is_listen_port_zero(peer: QbittorrentNox) -> None:
    peer.set_preferences({"random_port": True})
    assert (peer.preferences()["listen_port"], peer.preferences()["random_port"]) == (0, True)
    peer.set_preferences({"listen_port": 41234, "random_port": False, "upnp": False})
    preferences = peer.preferences()
    assert (preferences["listen_port"], preferences["random_port"], preferences["upnp"]) == (
        41234,
        False,
        False,
    )


def test_set_preferences_accepts_an_impossible_port(peer: QbittorrentNox) -> None:
    with peer.session() as client:
        answer = client.post(
            "/api/v2/app/setPreferences", data={"json": json.dumps({"listen_port": 70000})}
        )
    assert answer.status_code == 200
    assert peer.preferences()["listen_port"] == 70000  # so mediastack validates ports itself


def test_failed_logins_get_the_address_banned() -> None:
    with running_qbittorrent_nox(max_failed_logins=2) as peer:
        answers = [
            httpx.post(
                f"{peer.url}/api/v2/auth/login", data={"username": "admin", "password": "no"}
            )
            for _ in range(3)
        ]
    assert [answer.text for answer in answers] == ["Fails.", "Fails.", BANNED_TEXT]
    assert answers[-1].status_code == 403


# --- fixture capture for the unit tests (run by hand; see the module docstring) -----------


def capture(folder: Path) -> None:
    """Write one JSON file per exchange with a fresh qbittorrent-nox into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with running_qbittorrent_nox(listen_port=6881, max_failed_logins=3) as peer:
        _capture_session(peer, folder)
    with running_qbittorrent_nox(listen_port=6881, bypass_localhost=True) as peer:
        _save(folder, "preferences-bypass", httpx.get(f"{peer.url}/api/v2/app/preferences"))


def _capture_session(peer: QbittorrentNox, folder: Path) -> None:
    client = httpx.Client(base_url=peer.url, timeout=10)
    _save(folder, "preferences-forbidden", client.get("/api/v2/app/preferences"))
    login = {"username": peer.username, "password": peer.password}
    _save(folder, "login-fails", client.post("/api/v2/auth/login", data={**login, "password": "x"}))
    _save(folder, "login-ok", client.post("/api/v2/auth/login", data=login))
    _save(folder, "version", client.get("/api/v2/app/version"))
    _save(folder, "webapi-version", client.get("/api/v2/app/webapiVersion"))
    _save(folder, "preferences", client.get("/api/v2/app/preferences"))
    origin = {"Origin": "http://elsewhere.example"}
    _save(folder, "cross-site-401", client.get("/api/v2/app/preferences", headers=origin))
    changes = {"json": json.dumps({"listen_port": 43210, "random_port": False, "upnp": False})}
    _save(folder, "set-preferences", client.post("/api/v2/app/setPreferences", data=changes))
    _save(folder, "preferences-after-set", client.get("/api/v2/app/preferences"))
    _save(folder, "logout", client.post("/api/v2/auth/logout"))
    for _ in range(3):
        client.post("/api/v2/auth/login", data={**login, "password": "x"})
    _save(folder, "login-banned", client.post("/api/v2/auth/login", data=login))
    client.close()


def _save(folder: Path, name: str, answer: httpx.Response) -> None:
    kept = ("content-type", "set-cookie")
    exchange = {
        "request": {"method": answer.request.method, "path": answer.request.url.path},
        "response": {
            "status": answer.status_code,
            "headers": {key: value for key, value in answer.headers.items() if key in kept},
            "body": answer.text,
        },
    }
    (folder / f"{name}.json").write_text(json.dumps(exchange, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "capture":
        sys.exit(f"usage: {sys.argv[0]} capture FOLDER")
    capture(Path(sys.argv[2]))
