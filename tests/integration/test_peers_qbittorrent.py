"""The real qBittorrent (Debian's qbittorrent-nox 4.5.2) in an image started like the
linuxserver one, in a gluetun stand-in's namespace, the way the vpn stack runs it.

Facts pinned here that the app-config generator and the supervisor rely on: the conf a
renderer writes at ``/config/qBittorrent/qBittorrent.conf`` is the one read; its PBKDF2
password is honoured; the supervisor's path (``http://gluetun:8080`` from the bridge network)
logs in; a Host header whose port is not the WebUI port, or a foreign Origin, is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from peer_compose import Project, healthcheck, running_project
from test_portsync_qbittorrent import password_hash
from test_supervisor_harness import free_port

PASSWORD = "peer-secret-1"
IDENTITY = {"PUID": "1000", "PGID": "1000", "TZ": "Etc/UTC", "UMASK": "002"}
LOGIN = "/api/v2/auth/login"


def _conf(password_line: str) -> str:
    """A qBittorrent.conf as a renderer would write it for the linuxserver image."""
    return "\n".join(
        [
            "[LegalNotice]",
            "Accepted=true",
            "",
            "[Preferences]",
            "WebUI\\Address=*",
            "WebUI\\ServerDomains=*",
            "WebUI\\Username=admin",
            password_line,
            "",
        ]
    )


def _services(images: dict[str, str], peers: dict[str, str], config: Path, webui: int) -> Any:
    return {
        "gluetun": {
            "image": images["gluetun"],
            "pull_policy": "never",
            "ports": [f"127.0.0.1:{webui}:8080"],
            "healthcheck": healthcheck("/gluetun-entrypoint healthcheck"),
        },
        "qbittorrent": {
            "image": peers["qbittorrent"],
            "pull_policy": "never",
            "network_mode": "service:gluetun",
            "depends_on": {"gluetun": {"condition": "service_healthy"}},
            "environment": {**IDENTITY, "WEBUI_PORT": "8080"},
            "volumes": [f"{config}:/config", f"{config.parent / 'data'}:/data"],
            # The catalogue's probe, unchanged.
            "healthcheck": healthcheck("curl -fsS -o /dev/null http://localhost:8080/"),
        },
        # Stands where the supervisor stands: another container on the same bridge network.
        "probe": {"image": images["sonarr"], "pull_policy": "never"},
    }


def _login(project: Project, service: str, url: str, password: str, *headers: str) -> str:
    """POST the login form with busybox wget in ``service``; return the body ('' on an HTTP
    error: busybox wget prints nothing and exits 1)."""
    header_arguments = [argument for header in headers for argument in ("--header", header)]
    return project.exec(
        service,
        "wget", "-q", "-O", "-", *header_arguments,
        "--post-data", f"username=admin&password={password}", f"{url}{LOGIN}",
        check=False,
    )  # fmt: skip


@pytest.fixture
def running_qbittorrent(
    standin_images: dict[str, str],
    real_peer_images: dict[str, str],
    compose_project_prefix: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Any:
    config = tmp_path / "qbittorrent"
    (config / "qBittorrent").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    (config / "qBittorrent" / "qBittorrent.conf").write_text(_conf(request.param))
    webui = free_port()
    services = _services(standin_images, real_peer_images, config, webui)
    with running_project(compose_project_prefix, tmp_path, services) as project:
        yield project, config, webui


KNOWN_PASSWORD = f"WebUI\\Password_PBKDF2={password_hash(PASSWORD)}"


@pytest.mark.parametrize("running_qbittorrent", [KNOWN_PASSWORD], indirect=True)
def test_the_rendered_conf_is_read_and_the_supervisor_path_logs_in(
    running_qbittorrent: tuple[Project, Path, int],
) -> None:
    project, config, _ = running_qbittorrent
    assert _login(project, "qbittorrent", "http://localhost:8080", PASSWORD) == "Ok."
    assert _login(project, "qbittorrent", "http://localhost:8080", "wrong") == "Fails."
    assert _login(project, "probe", "http://gluetun:8080", PASSWORD) == "Ok."
    log = (config / "qBittorrent" / "logs" / "qbittorrent.log").read_text()
    assert "Using config directory: /config/qBittorrent" in log
    assert "qBittorrent v4.5.2 started" in log


@pytest.mark.parametrize("running_qbittorrent", [KNOWN_PASSWORD], indirect=True)
def test_it_runs_as_puid_and_owns_its_profile(
    running_qbittorrent: tuple[Project, Path, int],
) -> None:
    project, config, _ = running_qbittorrent
    status = project.exec("qbittorrent", "cat", "/proc/1/status")
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["1000"] * 4
    conf = config / "qBittorrent" / "qBittorrent.conf"
    assert (conf.stat().st_uid, conf.stat().st_gid) == (1000, 1000)


@pytest.mark.parametrize("running_qbittorrent", [KNOWN_PASSWORD], indirect=True)
def test_host_header_and_origin_checks_refuse_foreign_requests(
    running_qbittorrent: tuple[Project, Path, int],
) -> None:
    project, _, webui = running_qbittorrent
    form = {"username": "admin", "password": PASSWORD}
    with httpx.Client(base_url=f"http://127.0.0.1:{webui}", trust_env=False) as client:
        # Published on another host port: the Host header's port is not 8080, refused.
        assert client.post(LOGIN, data=form).status_code == 401
        answer = client.post(LOGIN, data=form, headers={"Host": "localhost:8080"})
        assert answer.text == "Ok."
    # Cross-site check: an Origin (or Referer) that is not the Host is refused.
    foreign = "Origin: http://elsewhere.example:8080"
    assert _login(project, "probe", "http://gluetun:8080", PASSWORD, foreign) == ""
    same = "Origin: http://gluetun:8080"
    assert _login(project, "probe", "http://gluetun:8080", PASSWORD, same) == "Ok."


@pytest.mark.parametrize("running_qbittorrent", [""], indirect=True)
def test_without_a_password_4_5_keeps_the_old_default(
    running_qbittorrent: tuple[Project, Path, int],
) -> None:
    """4.5.2 predates 4.6.1's temporary password: no password line means adminadmin."""
    project, _, _ = running_qbittorrent
    assert _login(project, "qbittorrent", "http://localhost:8080", "adminadmin") == "Ok."
