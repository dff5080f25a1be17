"""The cross-seed 6 and recyclarr 8 stand-ins refuse what the real apps refuse.

cross-seed runs against the real qBittorrent peer in a gluetun stand-in's namespace, the way the
vpn stack runs both; recyclarr asks a Sonarr stand-in in the same namespace.
"""

from __future__ import annotations

import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peer_compose import Project, healthcheck, running_project
from peer_images import peer_tag
from standins import docker
from test_portsync_qbittorrent import password_hash

# Characters a URL's user info and a login form treat differently: the stand-in must convert.
PASSWORD = "p@ss word+&=1"
ENCODED_PASSWORD = urllib.parse.quote(PASSWORD, safe="")
USER = "1000:1000"
SONARR_KEY = "0123456789abcdef0123456789abcdef"


def _qbittorrent_conf() -> str:
    return "\n".join(
        [
            "[LegalNotice]",
            "Accepted=true",
            "[Preferences]",
            "WebUI\\Username=admin",
            f"WebUI\\Password_PBKDF2={password_hash(PASSWORD)}",
            "",
        ]
    )


def _cross_seed_config(client_url: str, link_dir: str = "/data/torrents/cross-seed") -> str:
    """A config.js as the app-config generator writes it: module.exports with JSON values."""
    return (
        "module.exports = {\n"
        f'  "torrentClients": ["qbittorrent:{client_url}"],\n'
        '  "useClientTorrents": true,\n'
        f'  "linkDirs": ["{link_dir}"],\n'
        '  "action": "inject",\n'
        '  "matchMode": "flexible",\n'
        '  "port": 2468\n'
        "};\n"
    )


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # the stand-ins run as 1000:1000, like the rendered `user:`
    return path


@pytest.fixture
def vpn(
    standin_images: dict[str, str],
    real_peer_images: dict[str, str],
    compose_project_prefix: str,
    tmp_path: Path,
) -> Iterator[Project]:
    """gluetun, the real qBittorrent, a configured cross-seed and recyclarr (no config yet), and
    a Sonarr stand-in, all but gluetun in gluetun's namespace."""
    qbittorrent = _folder(tmp_path / "qbittorrent" / "qBittorrent")
    (qbittorrent / "qBittorrent.conf").write_text(_qbittorrent_conf())
    _folder(tmp_path / "data" / "torrents")
    cross_seed = _folder(tmp_path / "cross-seed")
    (cross_seed / "config.js").write_text(
        _cross_seed_config(f"http://admin:{ENCODED_PASSWORD}@localhost:8080")
    )
    _folder(tmp_path / "recyclarr")
    in_namespace = {
        "pull_policy": "never",
        "network_mode": "service:gluetun",
        "depends_on": {"gluetun": {"condition": "service_healthy"}},
    }
    services: dict[str, Any] = {
        "gluetun": {
            "image": standin_images["gluetun"],
            "pull_policy": "never",
            "healthcheck": healthcheck("/gluetun-entrypoint healthcheck"),
        },
        "qbittorrent": {
            **in_namespace,
            "image": real_peer_images["qbittorrent"],
            "environment": {"PUID": "1000", "PGID": "1000", "WEBUI_PORT": "8080"},
            "volumes": [f"{tmp_path / 'qbittorrent'}:/config", f"{tmp_path / 'data'}:/data"],
            "healthcheck": healthcheck("curl -fsS -o /dev/null http://localhost:8080/"),
        },
        "cross-seed": {
            **in_namespace,
            "image": real_peer_images["cross-seed"],
            "depends_on": {"qbittorrent": {"condition": "service_healthy"}},
            "user": USER,
            "command": ["daemon"],
            "volumes": [f"{cross_seed}:/config", f"{tmp_path / 'data'}:/data"],
            "healthcheck": healthcheck("wget -q -O /dev/null http://localhost:2468/api/ping"),
        },
        "sonarr": {**in_namespace, "image": standin_images["sonarr"]},
        "recyclarr": {
            **in_namespace,
            "image": real_peer_images["recyclarr"],
            "user": USER,
            "environment": {"SONARR_API_KEY": SONARR_KEY},
            "volumes": [f"{tmp_path / 'recyclarr'}:/config"],
        },
    }
    with running_project(compose_project_prefix, tmp_path, services) as project:
        yield project


def _cross_seed_once(vpn: Project, config: Path, prefix: str) -> subprocess.CompletedProcess[str]:
    """Run the cross-seed stand-in once in gluetun's namespace with ``config`` as /config (no
    login retries); return the finished process."""
    return docker(
        "run", "--rm", "--label", f"com.docker.compose.project={prefix}",
        "--network", f"container:{vpn.container('gluetun')}", "--user", USER,
        "-e", "STANDIN_CLIENT_RETRIES=0", "-v", f"{config}:/config",
        "-v", f"{config.parent / 'data'}:/data",
        peer_tag("cross-seed"), "daemon",
        check=False, timeout=60,
    )  # fmt: skip


def test_cross_seed_logs_in_to_the_real_qbittorrent_and_answers(vpn: Project) -> None:
    log = vpn.logs("cross-seed")
    assert "[qbittorrent@localhost:8080] Logged in to v4.5.2 successfully" in log
    assert "Your configuration is valid!" in log
    assert vpn.exec("cross-seed", "wget", "-q", "-O", "-", "http://localhost:2468/api/ping")


def test_cross_seed_without_config_writes_the_template_and_exits_1(
    vpn: Project, tmp_path: Path, compose_project_prefix: str
) -> None:
    config = _folder(tmp_path / "empty-config")
    finished = _cross_seed_once(vpn, config, compose_project_prefix)
    assert finished.returncode == 1
    assert "Configuration file created at /config/config.js" in finished.stdout
    assert "You need to have a client configured for useClientTorrents." in finished.stdout
    assert (config / "config.js").read_text().startswith("// Abridged from cross-seed v6.13.7")


@pytest.mark.parametrize(
    ("client_url", "message"),
    [
        ("http://admin:wrong@localhost:8080", "login failed: Invalid username or password"),
        ("http://admin:x@localhost:9", "login failed: fetch failed"),
        ("http://admin:bad%zz@localhost:8080", "url must be percent-encoded"),
    ],
)
def test_cross_seed_refuses_a_client_it_cannot_log_in_to(
    vpn: Project, tmp_path: Path, compose_project_prefix: str, client_url: str, message: str
) -> None:
    config = _folder(tmp_path / "bad-config")
    (config / "config.js").write_text(_cross_seed_config(client_url))
    finished = _cross_seed_once(vpn, config, compose_project_prefix)
    assert finished.returncode == 1
    assert message in finished.stdout
    assert "Your configuration is invalid" in finished.stdout


def _recyclarr_sync(vpn: Project) -> subprocess.CompletedProcess[str]:
    container = vpn.container("recyclarr")
    return docker("exec", container, "recyclarr", "sync", check=False, timeout=60)


def _write_recyclarr(vpn: Project, tmp_path: Path, instance: str) -> None:
    (tmp_path / "recyclarr" / "recyclarr.yml").write_text(f"sonarr:\n  main:\n{instance}")


def test_recyclarr_without_config_stays_up_but_sync_fails(vpn: Project) -> None:
    finished = _recyclarr_sync(vpn)
    assert finished.returncode == 1
    assert finished.stdout.strip() == "[ERR] No configuration files found"
    running = docker("inspect", "-f", "{{.State.Running}}", vpn.container("recyclarr"))
    assert running.stdout.strip() == "true"


def test_recyclarr_sync_asks_each_instance_with_its_key(vpn: Project, tmp_path: Path) -> None:
    instance = "    base_url: http://localhost:8989\n    api_key: !env_var SONARR_API_KEY\n"
    _write_recyclarr(vpn, tmp_path, instance)
    status_file = "/www/api/v3/system/status"
    served = vpn.exec("sonarr", "cat", status_file)  # the stand-in's own answer
    vpn.exec("sonarr", "rm", status_file)
    unanswered = _recyclarr_sync(vpn)
    assert (unanswered.returncode, "[sonarr] [main] HTTP 404" in unanswered.stdout) == (1, True)
    other = '{"appName":"Radarr","version":"6.0.0"}'
    vpn.exec("sonarr", "sh", "-c", f"echo '{other}' > {status_file}")
    mistaken = _recyclarr_sync(vpn)  # Recyclarr compares appName with the service it syncs
    assert mistaken.returncode == 1 and "is radarr" in mistaken.stdout, mistaken.stdout
    vpn.exec("sonarr", "sh", "-c", f"echo '{served.strip()}' > {status_file}")
    answered = _recyclarr_sync(vpn)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "Connected to http://localhost:8989" in answered.stdout


def test_recyclarr_sync_lists_an_instance_without_api_key_as_invalid(
    vpn: Project, tmp_path: Path
) -> None:
    """Like v8.7.1: the invalid instance is reported and skipped; nothing left failed, exit 0."""
    _write_recyclarr(vpn, tmp_path, "    base_url: http://localhost:8989\n")
    finished = _recyclarr_sync(vpn)
    assert "Invalid Instances" in finished.stdout
    assert "X 'api_key' must not be empty." in finished.stdout
    assert finished.returncode == 0


def test_recyclarr_sync_refuses_an_undefined_environment_variable(
    vpn: Project, tmp_path: Path
) -> None:
    instance = "    base_url: http://localhost:8989\n    api_key: !env_var RADARR_API_KEY\n"
    _write_recyclarr(vpn, tmp_path, instance)
    finished = _recyclarr_sync(vpn)
    assert finished.returncode == 1
    assert "Line 4 refers to undefined environment variable RADARR_API_KEY" in finished.stderr
