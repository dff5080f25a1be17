"""The shipped deployment applies an update from What's Up Docker's webhook, and rolls back a bad
one: the supervisor in its own container (the image ``mediastack up`` builds), talking to the
engine only through the socket-proxy peer (haproxy, configured as lscr.io/linuxserver/socket-
proxy configures itself, with the catalogue's environment).

A small lab made by the real ``mediastack init``: gluetun, qBittorrent (the real one), sonarr,
the socket proxy and the supervisor; everything else off. Sonarr's image comes from a local
``docker-registry`` on 127.0.0.1 (``test_updates_registry.LocalRegistry``); the webhook is on,
its token in the homelab's ``.env``, and it is reached only at the port the ops stack publishes
on 127.0.0.1. The tests run in file order on one lab: a v2 applied from a WUD payload; an
unhealthy v3 rolled back to v2; a request without the token refused.

Why these fail on the old code path: before the update pipeline reached the image store
through the Engine API, it asked the docker CLI, which the supervisor image does not have (its
``docker`` is a compose-only shim answering 127): the running image was never found, the
rollback tag never set, and every webhook-triggered update in the container ended as a silent
no-op. Each test here asserts on the image id sonarr's container runs afterwards (v2's, read
from the engine by the test itself), which only a real pull, recreate and rollback change.
And before the ops stack published ``updates.webhook.port``, no request from the host reached
the container at all (connection refused).

One piece of lab plumbing: a registry a user's images come from (lscr.io, ghcr.io, a registry
on the LAN) is reachable at the same address from the engine, which pulls, and from the
supervisor's container, which checks the digest with one HEAD. The test registry listens on
the host's loopback, which inside the supervisor's network namespace is the container's own:
``RegistryRelay`` carries 127.0.0.1:<registry port> in that namespace to the registry on the
host (through the lab network's gateway). It changes no request: the registry's access log
still sees every HEAD the supervisor makes.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from homelab import Homelab, make_homelab
from standins import docker, remove_test_resources, session_prefix
from test_supervisor_harness import free_port, keep_only, wait_until
from test_updates_pipeline import image_id, running_image, statuses
from test_updates_registry import LocalRegistry, build_variant

KEPT_SERVICES = ("gluetun", "qbittorrent", "sonarr", "socket-proxy", "supervisor")
TOKEN = "shipped-webhook-token-0123456789abcdef"
FIXTURES = Path(__file__).parents[1] / "unit" / "updates" / "fixtures"
REPOSITORY = "mediastack/sonarr"
TAG = "stable"
HEALTHY_TIMEOUT_SECONDS = 30
# An update: a registry HEAD, a pull, a recreate waited healthy; a rollback adds up to the
# healthy timeout and a second recreate. Bounded generously for a shared 2-core machine.
UPDATE_WAIT_SECONDS = 240.0
SUPERVISOR_READY_SECONDS = 180.0


# -- the registry, reachable from the supervisor's container ------------------------------------

# Runs in the supervisor's network namespace, with the supervisor image's python3: listens on
# 127.0.0.1:<argv 1>, relays each connection to <argv 2>:<argv 3>.
IN_NAMESPACE_RELAY = """
import socket, sys, threading
def pump(source, target):
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    for end in (source, target):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    client, _ = server.accept()
    try:
        upstream = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
    except OSError:
        client.close()
        continue
    upstream.settimeout(None)
    for pair in ((client, upstream), (upstream, client)):
        threading.Thread(target=pump, args=pair, daemon=True).start()
"""


class HostRelay:
    """A TCP relay in this process: ``address`` -> ``target`` (the registry on loopback)."""

    def __init__(self, address: tuple[str, int], target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(address)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                return  # closed
            upstream.settimeout(None)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def registry_relay(lab: Homelab, registry: LocalRegistry, supervisor: str) -> Iterator[None]:
    """Make ``registry`` answer at its own address inside ``supervisor``'s network namespace
    (see the module docstring); remove the relay after."""
    network = f"{lab.prefix}_media"
    gateway = docker(
        "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network
    ).stdout.strip()
    host_side = HostRelay((gateway, free_port()), ("127.0.0.1", registry.port))
    image = docker("inspect", "--format", "{{.Image}}", supervisor).stdout.strip()
    name = f"{lab.prefix}-registry-relay"
    docker(
        "run", "--detach", "--name", name, "--network", f"container:{supervisor}",
        # Labelled as a compose project of the lab's, so the lab's cleanup removes it too.
        "--label", f"com.docker.compose.project={lab.prefix}-relay",
        "--entrypoint", "python3", image,
        "-c", IN_NAMESPACE_RELAY, str(registry.port), gateway, str(host_side.port),
    )  # fmt: skip
    try:
        yield
    finally:
        docker("rm", "--force", name, check=False)
        host_side.close()


# -- the lab --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    running = LocalRegistry(tmp_path_factory.mktemp("registry"))
    running.start()
    try:
        yield running
    finally:
        running.stop()
        remove_references(f"{running.host}/")


def remove_references(start: str) -> None:
    """Remove every local tag and digest reference starting with ``start`` (by reference, not
    by image id: an id may carry another run's tags too, which stay)."""
    listed = docker("image", "ls", "--quiet", "--no-trunc").stdout.split()
    references: set[str] = set()
    for image in set(listed):
        details = inspected(image)
        for reference in [*details.get("RepoTags", []), *details.get("RepoDigests", [])]:
            if reference.startswith(start):
                references.add(reference)
    for reference in sorted(references):
        docker("image", "rm", reference, check=False)


@pytest.fixture(scope="module")
def versions(standin_images: dict[str, str], lab_prefix: str) -> Iterator[dict[int, str]]:
    """Sonarr v1, v2 and v4 (healthy) and v3 (no /www/ping: its healthcheck fails), built
    under this lab's own tags (removed after): version -> tag."""
    built: dict[int, str] = {}
    for number in (1, 2, 3, 4):
        lines = f"RUN echo v{number} > /version"
        if number == 3:
            lines += " && rm /www/ping"
        built[number] = build_variant(
            standin_images["sonarr"], f"{lab_prefix}-build/sonarr:v{number}", lines
        )
    try:
        yield built
    finally:
        for tag in built.values():
            docker("image", "rm", tag, check=False)


@pytest.fixture(scope="module")
def lab_prefix(_abandoned_test_resources_removed: None) -> Iterator[str]:
    """This module's compose project prefix (the harness's, so another run's cleanup leaves
    it alone); what it names is removed after the module."""
    prefix = f"{session_prefix()}{secrets.token_hex(3)}"
    yield prefix
    remove_test_resources(prefix)


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
    registry: LocalRegistry,
    versions: dict[int, str],
    lab_prefix: str,
) -> Iterator[Homelab]:
    registry.push(versions[1], REPOSITORY, TAG)
    images = {name: standin_images[name] for name in KEPT_SERVICES if name in standin_images}
    homelab = make_homelab(tmp_path_factory.mktemp("homelab"), lab_prefix, images, supervisor=True)
    _shape(homelab, registry)
    try:
        started = homelab.run("up", timeout=900)
        assert started.returncode == 0, started.stdout + started.stderr
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=300)
        remove_test_resources(lab_prefix)


def _shape(lab: Homelab, registry: LocalRegistry) -> None:
    """Keep only KEPT_SERVICES, on free ports; sonarr from the registry; the webhook on, with
    its token in .env; no scheduled update (only the webhook may start one)."""
    config: dict[str, Any] = yaml.safe_load(lab.config_path.read_text())
    keep_only(config, KEPT_SERVICES)
    config["services"]["supervisor"]["healthcheck"] = {"interval": "2s", "start_period": "60s"}
    sonarr = config["services"]["sonarr"]
    sonarr["image"] = registry.reference(REPOSITORY, TAG)
    sonarr.pop("pull_policy", None)  # compose pulls it (through the engine) on update
    config["updates"] = {
        "scheduled": False,
        "healthy_timeout_seconds": HEALTHY_TIMEOUT_SECONDS,
        # bind_address stays the default (0.0.0.0 inside the container); the ops stack
        # publishes the port on network.bind_address (127.0.0.1 here).
        "webhook": {"enabled": True, "port": free_port()},
    }
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    with (lab.root / ".env").open("a") as env:
        env.write(f"MEDIASTACK_WEBHOOK_TOKEN={TOKEN}\n")
    rendered = lab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr


# -- the supervisor container and its webhook -----------------------------------------------------


def container_of(lab: Homelab, stack: str, service: str) -> str | None:
    """Return the id of the running container of ``service`` in the lab's ``stack``."""
    listed = docker(
        "ps", "--no-trunc", "--quiet",
        "--filter", f"label=com.docker.compose.project={lab.prefix}-{stack}",
        "--filter", f"label=com.docker.compose.service={service}",
    )  # fmt: skip
    found = listed.stdout.split()
    return found[0] if found else None


def inspected(container: str) -> dict[str, Any]:
    """Return ``docker inspect`` of ``container`` ({} when it is gone: mid-recreate)."""
    answer = docker("inspect", container, check=False)
    return json.loads(answer.stdout)[0] if answer.returncode == 0 else {}


def log_lines(container: str) -> list[str]:
    """Return the container's log (the daemon and its job processes write to stderr)."""
    logs = docker("logs", container, check=False, timeout=60)
    return (logs.stdout + logs.stderr).splitlines()


def wait_for_log(container: str, text: str, after: int, timeout: float) -> str:
    """Return the first log line from line ``after`` on that contains ``text``."""
    return str(
        wait_until(
            lambda: next((line for line in log_lines(container)[after:] if text in line), None),
            timeout,
            f"{text!r} in the supervisor's log",
        )
    )


@pytest.fixture(scope="module")
def supervisor(lab: Homelab, registry: LocalRegistry) -> Iterator[str]:
    """Yield the supervisor container's id once it is healthy and its webhook answers on the
    published port, with the registry reachable from its namespace."""
    container = wait_until(
        lambda: container_of(lab, "ops", "supervisor"), 60, "the supervisor container"
    )
    wait_until(
        lambda: inspected(container).get("State", {}).get("Health", {}).get("Status") == "healthy",
        SUPERVISOR_READY_SECONDS,
        "the supervisor container healthy",
    )
    wait_for_log(container, "the status pages and the update webhook", 0, 30)
    with registry_relay(lab, registry, container):
        # The listener's own /health (no token; 200, or 503 with a reason): proof it is what
        # answers on the port. GETs count in a window of their own, apart from WUD's POSTs.
        def answers() -> bool:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(webhook_url(lab) + "health", timeout=5)
                return answer.status_code in (200, 503) and "healthy" in answer.json()
            return False

        wait_until(answers, 30, "the webhook answering on its published port")
        yield container


def webhook_url(lab: Homelab) -> str:
    port = lab.loaded().config.updates.webhook.port
    return f"http://127.0.0.1:{port}/"


def wud_payload(lab: Homelab, registry: LocalRegistry, digest: str) -> dict[str, Any]:
    """WUD's simple-mode payload (captured sample) for the lab's sonarr, announcing
    ``digest`` for ``REPOSITORY:TAG`` in the local registry."""
    payload: dict[str, Any] = json.loads((FIXTURES / "wud-simple.json").read_text())
    container = f"{lab.prefix}-vpn-sonarr-1"
    payload["name"] = payload["displayName"] = container
    payload["image"]["registry"] = {"name": "local", "url": f"http://{registry.host}/v2"}
    payload["image"]["name"] = REPOSITORY
    payload["image"]["tag"]["value"] = TAG
    payload["labels"]["com.docker.compose.project"] = f"{lab.prefix}-vpn"
    payload["labels"]["com.docker.compose.project.working_dir"] = str(lab.root / "stacks/vpn")
    payload["result"] = {"tag": TAG, "digest": digest}
    payload["updateKind"]["remoteValue"] = digest
    return payload


def post(lab: Homelab, payload: dict[str, Any], token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(webhook_url(lab), json=payload, headers=headers, timeout=10)


def assert_healthy_in_gluetuns_namespace(lab: Homelab, image: str) -> None:
    """Sonarr runs ``image``'s id, healthy, in gluetun's current namespace (as the engine
    and ``mediastack status`` see it)."""
    gluetun = container_of(lab, "vpn", "gluetun")
    sonarr = container_of(lab, "vpn", "sonarr")
    assert gluetun is not None and sonarr is not None
    details = inspected(sonarr)
    assert details["Image"] == image_id(image)
    assert details["HostConfig"]["NetworkMode"] == f"container:{gluetun}"
    reported = statuses(lab)["sonarr"]
    assert (reported["state"], reported["health"], reported["namespace"]) == (
        "running",
        "healthy",
        "ok",
    ), reported


_ACCESS = re.compile(r'"(HEAD|GET|PUT|POST|PATCH) (\S+) HTTP/[0-9.]+" [0-9]{3} \S+ "[^"]*" "(.*)"$')
CHECK_AGENT = "mediastack-update-check"  # the registry client's User-Agent (adapters/registry)


def access_mark(registry: LocalRegistry) -> int:
    """Return the registry log's line count now (``accesses`` reads from there on)."""
    return len(registry.log_path.read_text(errors="replace").splitlines())


def accesses(registry: LocalRegistry, after: int) -> list[tuple[str, str, str]]:
    """Return (method, path, user agent) of each request the registry logged from line
    ``after`` on: the agent tells the supervisor's check from the engine's pull."""
    time.sleep(0.2)  # the log is written per request; let the last line land
    lines = registry.log_path.read_text(errors="replace").splitlines()[after:]
    found = (_ACCESS.search(line) for line in lines)
    return [(match[1], match[2], match[3]) for match in found if match]


# -- the tests -----------------------------------------------------------------------------------


def test_a_wud_payload_makes_the_supervisor_container_apply_v2(
    lab: Homelab, registry: LocalRegistry, versions: dict[int, str], supervisor: str
) -> None:
    assert running_image(lab, "sonarr") == image_id(versions[1])
    before = container_of(lab, "vpn", "sonarr")
    # keep_local=False: the local tag stays on v1, so only a pull by the engine brings v2.
    digest = registry.push(versions[2], REPOSITORY, TAG, keep_local=False)
    registry_mark = access_mark(registry)
    mark = len(log_lines(supervisor))
    accepted = post(lab, wud_payload(lab, registry, digest), TOKEN)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["queued"] == ["sonarr"]
    updated = wait_for_log(supervisor, "update updated: sonarr runs", mark, UPDATE_WAIT_SECONDS)
    assert digest[:19] in updated
    wait_for_log(supervisor, "update (webhook): 1 image(s) checked", mark, 30)
    assert container_of(lab, "vpn", "sonarr") != before  # recreated, not restarted
    assert_healthy_in_gluetuns_namespace(lab, versions[2])
    requests = accesses(registry, registry_mark)
    manifest = f"/v2/{REPOSITORY}/manifests/{TAG}"
    # The supervisor checked the digest itself, with one HEAD from its container...
    assert [r for r in requests if r[2] == CHECK_AGENT] == [("HEAD", manifest, CHECK_AGENT)]
    # ...and compose in its container had the engine pull (POST /images/create via the proxy).
    assert any(path == manifest and "compose/" in agent for _, path, agent in requests)


def test_an_unhealthy_v3_is_rolled_back_to_v2_by_the_supervisor_container(
    lab: Homelab, registry: LocalRegistry, versions: dict[int, str], supervisor: str
) -> None:
    digest = registry.push(versions[3], REPOSITORY, TAG, keep_local=False)
    mark = len(log_lines(supervisor))
    accepted = post(lab, wud_payload(lab, registry, digest), TOKEN)
    assert accepted.status_code == 202, accepted.text
    rolled_back = wait_for_log(supervisor, "update rolled_back: sonarr", mark, UPDATE_WAIT_SECONDS)
    assert "WARNING" in rolled_back and digest[:19] in rolled_back
    wait_for_log(supervisor, "update (webhook): 1 image(s) checked", mark, 30)
    # v3 was pulled and ran (found unhealthy: the rollback line), then v2 came back.
    assert any("update pulled: " in line for line in log_lines(supervisor)[mark:])
    assert_healthy_in_gluetuns_namespace(lab, versions[2])
    remembered = json.loads((lab.root / ".mediastack" / "update-rollbacks.json").read_text())
    assert remembered == {"sonarr": digest}


def test_a_webhook_request_without_the_token_is_refused_and_changes_nothing(
    lab: Homelab, registry: LocalRegistry, versions: dict[int, str], supervisor: str
) -> None:
    # A healthy v4 waits in the registry: an accepted request would apply it.
    digest = registry.push(versions[4], REPOSITORY, TAG, keep_local=False)
    before = container_of(lab, "vpn", "sonarr")
    registry_mark = access_mark(registry)
    mark = len(log_lines(supervisor))
    payload = wud_payload(lab, registry, digest)
    refused = [post(lab, payload, None), post(lab, payload, "not-the-token-0123456789")]
    assert [answer.status_code for answer in refused] == [401, 401]
    assert all("Bearer" in answer.headers["WWW-Authenticate"] for answer in refused)
    # The webhook logs each answer after deciding it; queueing is logged before the answer.
    wait_for_log(supervisor, "-> 401", mark, 30)
    later = log_lines(supervisor)[mark:]
    assert not [line for line in later if "queued" in line or "update (webhook)" in line]
    assert accesses(registry, registry_mark) == []
    assert container_of(lab, "vpn", "sonarr") == before
    assert_healthy_in_gluetuns_namespace(lab, versions[2])
