"""Issue 9's acceptance, on the lab that is the shipped deployment: the default ``init`` config
(only stand-in images and host ports changed), WireGuard values filled, ``mediastack up``.

What runs is what users get: the real qbittorrent-nox reading the ``qBittorrent.conf`` that
``up`` wrote, cross-seed and recyclarr stand-ins that refuse to start without the configs
``up`` writes, the supervisor in the image ``up`` builds, reaching the engine only through the
socket-proxy peer (haproxy configured as lscr.io/linuxserver/socket-proxy configures itself).
Its status page is opened from the published port in Debian's headless Chromium as a phone
opens it (refused, the log-in prompt answered with the token) and watched through the real
gluetun restart. Nothing here edits a rendered file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from headless_browser import HeadlessPage, keep_screenshot
from homelab import Homelab, make_homelab
from standins import docker, remove_test_resources, session_prefix
from test_supervisor_harness import wait_until

from mediastack.render.environment import read_secrets
from support.ntfy_receiver import NtfyReceiver

PROJECT_PREFIX = f"{session_prefix()}ship"
LAB_STATE: dict[str, bool] = {}
WIRE_INTERVAL_SECONDS = 30
NOTIFY_TOPIC = "shipped-lab"
LAB_RECEIVER: list[NtfyReceiver] = []
DEPENDENTS = (
    "qbittorrent", "prowlarr", "flaresolverr", "sonarr", "radarr", "bazarr", "unpackerr",
    "cross-seed", "recyclarr",
)  # fmt: skip
# The status page, read from its DOM: the services drawn in one zone (vpn, bridge, host), and
# each finished cascade's row (newest first) as its cells' text.
ZONE_SERVICES = (
    "[...document.querySelectorAll('.zone.{zone} [data-service]')].map(e => e.dataset.service)"
)
CASCADE_ROWS = (
    "[...document.querySelectorAll('#cascades tr.cascade')]"
    ".map(row => [...row.cells].map(cell => cell.innerText))"
)
LIVE = "document.getElementById('live').textContent === 'live'"
DURATION = re.compile(r"\d+\.\d s|\d+ min \d+ s")
MAPPED_FIELD = re.compile(r"homepage\.widget\.mappings\[\d+\]\.field")


def container_ids(lab: Homelab, stack: str) -> dict[str, str]:
    listed = docker(
        "ps", "--all", "--no-trunc",
        "--filter", f"label=com.docker.compose.project={lab.prefix}-{stack}",
        "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}',
    )  # fmt: skip
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)


def health_of(container: str) -> str:
    inspected = docker(
        "inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", container,
        check=False,
    )  # fmt: skip
    return inspected.stdout.strip()


def status_url(lab: Homelab, path: str = "/") -> str:
    """The supervisor's listener, as the host publishes it (127.0.0.1, the lab's free port)."""
    return f"http://127.0.0.1:{lab.loaded().config.updates.webhook.port}{path}"


def status_token(lab: Homelab) -> str:
    return read_secrets(lab.root / ".env")["MEDIASTACK_STATUS_TOKEN"]


def summary_of(lab: Homelab) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {status_token(lab)}"}
    answer = httpx.get(status_url(lab, "/api/v1/summary"), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    summary: dict[str, object] = answer.json()
    return summary


def qbittorrent_login(container: str, url: str, password: str) -> str:
    """Log in to qBittorrent from inside ``container`` (the supervisor's python and httpx);
    return the status code and body."""
    script = (
        "import httpx,sys; r=httpx.post(sys.argv[1]+'/api/v2/auth/login', "
        "data={'username': 'admin', 'password': sys.argv[2]}, timeout=10); "
        "print(r.status_code, r.text)"
    )
    ran = docker("exec", container, "/opt/mediastack/bin/python", "-c", script, url, password)
    return ran.stdout.strip()


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
    arr_images: dict[str, str],
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    # The *arr apps are the stateful API stand-ins (standins/arr): `up` wires them for real.
    images = {**standin_images, **arr_images}
    homelab = make_homelab(
        tmp_path_factory.mktemp("shipped"), PROJECT_PREFIX, images, supervisor=True
    )
    # Timing only, like the healthchecks': the supervisor's wire timer at its minimum (30 s,
    # default 300 s), so repairing drift is seen within a test's patience.
    config = yaml.safe_load(homelab.config_path.read_text())
    config.setdefault("wiring", {})["interval_seconds"] = WIRE_INTERVAL_SECONDS
    homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    # Notifications from the supervisor's container reach a receiver on the lab network's
    # gateway (made here, before `up`, which uses it as it is).
    network = config["network"]["name"]
    docker("network", "create", network)
    gateway = docker(
        "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network
    ).stdout.strip()
    receiver = NtfyReceiver(host=gateway)
    receiver.start()
    LAB_RECEIVER.append(receiver)
    env_file = homelab.root / ".env"
    env_file.write_text(env_file.read_text().replace(
        "MEDIASTACK_NOTIFY_URLS=\n", f"MEDIASTACK_NOTIFY_URLS={receiver.url(NOTIFY_TOPIC)}\n"
    ))
    try:
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=300)
        remove_test_resources(PROJECT_PREFIX)
        for receiver in LAB_RECEIVER:
            receiver.stop()


@pytest.fixture
def running(lab: Homelab) -> Homelab:
    """The lab after one real `mediastack up` (run by the first test that needs it)."""
    if not LAB_STATE.get("up"):
        started = lab.run("up", timeout=900)
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
        # up's wire (or the supervisor's, when its first run came first: one at a time)
        # made every link and read it back; none broken. Waiting: Plex's claim and
        # Prowlarr's indexers, which only the user can give. The quality-profiles link is
        # only ok once `recyclarr sync` (the stand-in refuses an `!env_var` the container
        # lacks, or an instance that does not answer) created the profiles in both apps.
        assert " broken " not in started.stdout, started.stdout[-4000:]
        checked = lab.run("wire", "--check", timeout=300)
        assert checked.returncode == 0, checked.stdout[-4000:]
        assert "ok recyclarr TRaSH quality profiles" in checked.stdout, checked.stdout
        LAB_STATE["up"] = True
    return lab


def test_up_refuses_a_placeholder_and_starts_nothing(lab: Homelab) -> None:
    env_file = lab.root / ".env"
    filled = env_file.read_text()
    secrets = read_secrets(env_file)
    env_file.write_text(
        filled.replace(
            f"WIREGUARD_PRIVATE_KEY={secrets['WIREGUARD_PRIVATE_KEY']}",
            "WIREGUARD_PRIVATE_KEY=CHANGE_ME_WIREGUARD_PRIVATE_KEY",
        )
    )
    try:
        refused = lab.run("up", timeout=120)
    finally:
        env_file.write_text(filled)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "WIREGUARD_PRIVATE_KEY" in refused.stderr and "placeholder" in refused.stderr
    assert all(container_ids(lab, stack) == {} for stack in ("vpn", "media", "ops"))


def test_a_default_up_ends_with_every_service_healthy_and_supervised(running: Homelab) -> None:
    lab = running
    config = lab.root / "config"
    conf = config / "qbittorrent" / "qBittorrent" / "qBittorrent.conf"
    assert "WebUI\\Password_PBKDF2" in conf.read_text()
    assert (config / "cross-seed" / "config.js").stat().st_mode & 0o777 == 0o600
    reported = lab.run("status", "--format", "json")
    assert reported.returncode == 0, reported.stdout + reported.stderr
    status = json.loads(reported.stdout)
    unhealthy = [
        (entry["service"], entry["state"], entry["health"])
        for entry in status["services"]
        if (entry["state"], entry["health"]) != ("running", "healthy")
    ]
    assert unhealthy == []
    assert {entry["service"] for entry in status["services"]} >= {*DEPENDENTS, "supervisor"}
    assert status["supervisor"]["running"] and status["supervisor"]["mode"] == "watching"


def test_the_supervisor_reaches_the_engine_only_through_the_socket_proxy(
    running: Homelab,
) -> None:
    supervisor = container_ids(running, "ops")["supervisor"]
    (inspected,) = json.loads(docker("inspect", supervisor).stdout)
    environment = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert environment["DOCKER_HOST"] == "tcp://socket-proxy:2375"
    assert not [m for m in inspected["Mounts"] if m["Source"].endswith("docker.sock")]


def test_qbittorrent_takes_the_env_password_from_the_namespace_and_the_supervisor(
    running: Homelab,
) -> None:
    lab = running
    password = read_secrets(lab.root / ".env")["QBITTORRENT_PASSWORD"]
    sonarr = container_ids(lab, "vpn")["sonarr"]
    in_namespace = docker(
        "exec", sonarr, "wget", "-q", "-O", "-",
        "--post-data", f"username=admin&password={password}",
        "http://localhost:8080/api/v2/auth/login",
    )  # fmt: skip
    assert in_namespace.stdout.strip() == "Ok."
    supervisor = container_ids(lab, "ops")["supervisor"]
    assert qbittorrent_login(supervisor, "http://gluetun:8080", password) == "200 Ok."
    # One wrong password is refused (five would ban the address for an hour).
    assert qbittorrent_login(supervisor, "http://gluetun:8080", "wrong") == "200 Fails."
    logs = docker("logs", container_ids(lab, "vpn")["qbittorrent"], check=False)
    assert "temporary password" not in (logs.stdout + logs.stderr).lower()


def test_the_listener_wants_the_token_but_at_health_and_gives_homepage_its_fields(
    running: Homelab,
) -> None:
    lab = running
    health = httpx.get(status_url(lab, "/health"), timeout=10)
    assert (health.status_code, health.json()["healthy"]) == (200, True), health.text
    refused = httpx.get(status_url(lab, "/api/v1/summary"), timeout=10)
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    summary = summary_of(lab)
    # What Homepage is pointed at: the supervisor container's labels, its widget's URL fetched
    # from the lab network (the supervisor's own python stands in for Homepage's server).
    supervisor = container_ids(lab, "ops")["supervisor"]
    (inspected,) = json.loads(docker("inspect", supervisor).stdout)
    labels: dict[str, str] = inspected["Config"]["Labels"]
    fields = [value for key, value in labels.items() if MAPPED_FIELD.fullmatch(key)]
    assert len(fields) == 4 and set(fields) <= set(summary), (fields, summary)
    header = labels["homepage.widget.headers.Authorization"].replace(
        "{{HOMEPAGE_VAR_MEDIASTACK_STATUS_TOKEN}}", status_token(lab)
    )
    script = (
        "import httpx,sys; r=httpx.get(sys.argv[1], headers={'Authorization': sys.argv[2]}, "
        "timeout=10); print(r.status_code, sorted(r.json()))"
    )
    url = labels["homepage.widget.url"]
    fetched = docker("exec", supervisor, "/opt/mediastack/bin/python", "-c", script, url, header)
    assert fetched.stdout.strip() == f"200 {sorted(summary)}", (url, fetched.stdout)


def open_status_page(lab: Homelab, binary: str, folder: Path) -> HeadlessPage:
    """Open the status page as a phone does: refused, the log-in prompt given the token."""
    return HeadlessPage(binary, status_url(lab), folder / "profile", ("phone", status_token(lab)))


def test_a_gluetun_restart_is_healed_synced_and_shown_live_on_the_status_page(
    running: Homelab, browser_binary: str, tmp_path: Path
) -> None:
    lab = running
    browser = open_status_page(lab, browser_binary, tmp_path)
    try:
        browser.wait_for(LIVE, 60)  # its EventSource carries the prompt's credentials
        before = browser.screenshot(tmp_path / "lab-status-page-before.png")
        zones = {
            zone: browser.evaluate(ZONE_SERVICES.format(zone=zone))
            for zone in ("vpn", "bridge", "host")
        }
        assert browser.prompts_answered == 1
        assert sorted(zones["vpn"]) == sorted(["gluetun", *DEPENDENTS])
        assert {"supervisor", "socket-proxy"} <= set(zones["bridge"]), zones
        assert zones["host"] == ["plex"], zones
        cascades_before = len(browser.evaluate(CASCADE_ROWS))
        browser.evaluate("window.loadedOnce = 'yes'")  # gone if the page reloads
        forwarded = restart_gluetun_and_wait_for_the_cascade(lab)
        rows = browser.wait_for(
            f"(rows => rows.length > {cascades_before} && rows)({CASCADE_ROWS})", 60
        )
        vpn_line = browser.wait_for(
            f"(t => t.includes('Forwarded port: {forwarded}.') && t)"
            "(document.querySelector('.zone.vpn').innerText)",
            60,
        )
        same_page = browser.evaluate("window.loadedOnce")
        after = browser.screenshot(tmp_path / "lab-status-page-after.png")
    finally:
        browser.close()
    keep_screenshot(before)
    keep_screenshot(after)

    _finished, outcome, duration, healed, failed = rows[0]
    assert (outcome, failed) == ("healed", "none"), rows[0]
    assert DURATION.fullmatch(duration) and set(healed.split(", ")) == set(DEPENDENTS), rows[0]
    assert "VPN: connected." in vpn_line
    assert same_page == "yes"
    assert after.stat().st_size > 10_000
    summary = summary_of(lab)
    assert summary["last_cascade"] == "healed" and summary["forwarded_port"] == forwarded
    history = json.loads(lab.run("status", "--format", "json").stdout)["supervisor"]
    assert history["recent_cascades"], history


def restart_gluetun_and_wait_for_the_cascade(lab: Homelab) -> int:
    """Restart gluetun for real; wait until every dependent is recreated and healthy and
    qBittorrent listens on the port gluetun now forwards; return that port."""
    before = container_ids(lab, "vpn")
    docker("restart", "-t", "2", before["gluetun"])

    def all_recreated_and_healthy() -> bool:
        now = container_ids(lab, "vpn")
        return all(
            now.get(name) not in (None, before[name]) and health_of(now[name]) == "healthy"
            for name in DEPENDENTS
        )

    wait_until(all_recreated_and_healthy, timeout=180, what="dependents recreated and healthy")
    forwarded = int(docker("exec", before["gluetun"], "cat", "/tmp/gluetun/forwarded_port").stdout)
    webui = lab.host_port("qbittorrent")
    password = read_secrets(lab.root / ".env")["QBITTORRENT_PASSWORD"]

    def listening_on_the_forwarded_port() -> bool:
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{webui}", timeout=10) as client:
                credentials = {"username": "admin", "password": password}
                client.post("/api/v2/auth/login", data=credentials)
                preferences = client.get("/api/v2/app/preferences").json()
        except httpx.TransportError:
            return False  # the recreated qBittorrent is still starting behind gluetun's port
        return bool(preferences["listen_port"] == forwarded)

    wait_until(listening_on_the_forwarded_port, timeout=90, what="port sync after the cascade")
    return forwarded


def test_the_rendered_config_is_the_default_init_one(lab: Homelab) -> None:
    """Guard against a friendlier lab: only images, pull policies, host ports, healthcheck
    timing, the wire timer, the network name and the supervisor's base image differ from
    `init`'s config."""
    config = yaml.safe_load(lab.config_path.read_text())
    allowed = {"image", "pull_policy", "ports", "healthcheck"}
    changed = {key for settings in config["services"].values() for key in settings}
    assert changed <= allowed
    assert config["supervisor"]["image_base"] != "python:3.11-slim-bookworm"  # local base



def test_a_download_client_deleted_in_sonarr_is_restored_by_the_supervisor(
    running: Homelab,
) -> None:
    lab = running
    base = f"http://127.0.0.1:{lab.host_port('sonarr')}/api/v3"
    headers = {"X-Api-Key": read_secrets(lab.root / ".env")["SONARR_API_KEY"]}
    [client] = httpx.get(f"{base}/downloadclient", headers=headers, timeout=10).json()
    httpx.delete(f"{base}/downloadclient/{client['id']}", headers=headers, timeout=10)
    assert httpx.get(f"{base}/downloadclient", headers=headers, timeout=10).json() == []

    def restored() -> bool:
        listed = httpx.get(f"{base}/downloadclient", headers=headers, timeout=10).json()
        return [item["name"] for item in listed] == ["qBittorrent"]

    # Within the timer's interval (plus the run itself: the download-client test logs in to
    # the real qBittorrent).
    wait_until(restored, timeout=WIRE_INTERVAL_SECONDS + 60, what="the supervisor's rewire")
    [receiver] = LAB_RECEIVER

    def notified() -> list[str]:
        return [
            message.message for message in receiver.messages
            if message.topic == NOTIFY_TOPIC and "app link(s) rewired" in message.title
            and "rewired sonarr: qBittorrent download client (was missing)" in message.message
        ]

    wait_until(notified, timeout=30, what="the rewire notification")
