"""The engine adapter: parsing captured `docker inspect` output, /proc namespaces, and the
translation of SDK failures (through a stub SDK client: no engine needed)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
import requests.exceptions

from mediastack.adapters.engine import (
    DockerEngine,
    network_namespace,
    parse_container,
    parse_timestamp,
    unreachable,
)
from mediastack.adapters.errors import EngineError, EngineUnreachableError

InspectFixture = Callable[[str], dict[str, Any]]
GLUETUN_ID = "618b71bfc203d051bc60376fa7a5cb09b493e5ef27f7fe431dcfa86d27b3aa56"


def test_parse_gluetun(inspect_fixture: InspectFixture) -> None:
    gluetun = parse_container(inspect_fixture("gluetun-before"))
    assert gluetun.id == GLUETUN_ID
    assert gluetun.name == "msfixture-gluetun-1"
    assert gluetun.image == "mediastack-fixture/busybox:1"
    assert (gluetun.status, gluetun.health, gluetun.pid) == ("running", "healthy", 9282)
    assert gluetun.started_at == datetime(2026, 11, 26, 22, 22, 30, 877195, tzinfo=UTC)
    assert gluetun.network_mode == "msfixture_net"
    assert gluetun.network_container is None
    assert gluetun.sandbox_key.startswith("/var/run/docker/netns/")
    assert (gluetun.compose_project, gluetun.compose_service) == ("msfixture", "gluetun")
    assert gluetun.labels["mediastack.zone"] == "gluetun"
    assert not gluetun.is_oneoff


def test_parse_dependent_joins_gluetun_by_full_id(inspect_fixture: InspectFixture) -> None:
    dependent = parse_container(inspect_fixture("dependent-before"))
    assert dependent.network_mode == f"container:{GLUETUN_ID}"
    assert dependent.network_container == GLUETUN_ID
    assert dependent.sandbox_key == ""  # a dependent has no sandbox of its own
    assert dependent.compose_service == "qbittorrent"


def test_after_in_place_restart_the_id_stays_and_the_start_moves(
    inspect_fixture: InspectFixture,
) -> None:
    gluetun = parse_container(inspect_fixture("gluetun-restarted"))
    dependent = parse_container(inspect_fixture("dependent-after-restart"))
    assert gluetun.id == GLUETUN_ID
    assert dependent.network_container == GLUETUN_ID
    assert gluetun.started_at is not None and dependent.started_at is not None
    assert dependent.started_at < gluetun.started_at


def test_after_recreate_the_dependent_names_the_old_id(inspect_fixture: InspectFixture) -> None:
    gluetun = parse_container(inspect_fixture("gluetun-recreated"))
    dependent = parse_container(inspect_fixture("dependent-after-recreate"))
    assert gluetun.id != GLUETUN_ID
    assert dependent.network_container == GLUETUN_ID


def test_a_stopped_container_keeps_its_last_health(inspect_fixture: InspectFixture) -> None:
    stopped = parse_container(inspect_fixture("dependent-exited"))
    assert (stopped.status, stopped.running, stopped.pid) == ("exited", False, 0)
    assert stopped.health == "unhealthy"


def test_parse_container_rejects_unknown_shapes() -> None:
    with pytest.raises(EngineError, match="unexpected `docker inspect` output"):
        parse_container({"Id": "x", "Name": "/y"})


def test_a_container_without_healthcheck_has_no_health(inspect_fixture: InspectFixture) -> None:
    raw = inspect_fixture("gluetun-before")
    del raw["State"]["Health"]
    assert parse_container(raw).health is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T22:22:30.877195305Z", datetime(2026, 11, 26, 22, 22, 30, 877195, tzinfo=UTC)),
        ("2026-11-26T22:22:30Z", datetime(2026, 11, 26, 22, 22, 30, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),  # the engine's "never started"
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_network_namespace_of_this_process() -> None:
    own = network_namespace(os.getpid())
    if own is None:
        pytest.skip("/proc/<pid>/ns/net is not readable on this system")
    assert own.startswith("net:[")


def test_network_namespace_that_cannot_be_read_is_none() -> None:
    assert network_namespace(0) is None
    assert network_namespace(-1) is None
    assert network_namespace(2**22 + 12345) is None  # above pid_max: no such process


class StubApi:
    """The few low-level SDK calls DockerEngine makes, answering from memory."""

    def __init__(self, containers: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.inspected = dict(containers or {})
        self.networks: dict[str, dict[str, Any]] = {}
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.failure: Exception | None = None

    def containers(self, all: bool, filters: Any) -> list[dict[str, str]]:
        if self.failure is not None:
            raise self.failure
        return [{"Id": "vanished"}, *({"Id": key} for key in self.inspected)]

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        if container_id not in self.inspected:
            raise docker.errors.NotFound("no such container")
        return self.inspected[container_id]

    def inspect_network(self, name: str) -> dict[str, Any]:
        if name not in self.networks:
            raise docker.errors.NotFound("network not found")
        return self.networks[name]

    def create_network(self, name: str, **options: Any) -> dict[str, str]:
        self.created.append((name, options))
        self.networks[name] = {"Id": f"id-{name}", "Name": name, "Driver": "bridge"}
        return {"Id": f"id-{name}"}

    def remove_network(self, network_id: str) -> None:
        raise docker.errors.APIError("error", explanation="network has active endpoints")


def stub_engine(api: StubApi) -> DockerEngine:
    client = SimpleNamespace(api=api, version=lambda: {"Version": "20.10.24+dfsg1"})
    return DockerEngine(client)  # type: ignore[arg-type]


def test_inspect_containers_skips_containers_removed_meanwhile(
    inspect_fixture: InspectFixture,
) -> None:
    engine = stub_engine(StubApi({"gluetun": inspect_fixture("gluetun-before")}))
    (container,) = engine.inspect_containers({"label": ["com.docker.compose.project=msfixture"]})
    assert container.name == "msfixture-gluetun-1"
    assert engine.server_version() == "20.10.24+dfsg1"


def test_connection_failures_become_engine_unreachable() -> None:
    api = StubApi()
    api.failure = requests.exceptions.ConnectionError("Connection refused")
    with pytest.raises(EngineUnreachableError) as caught:
        stub_engine(api).inspect_containers({})
    assert "connection refused" in caught.value.message
    assert caught.value.fix is not None and "systemctl start docker" in caught.value.fix


def test_permission_denied_gets_the_docker_group_fix() -> None:
    error = unreachable(PermissionError(13, "Permission denied"))
    assert "permission denied" in error.message
    assert error.fix is not None and "usermod -aG docker" in error.fix


def test_ensure_network_creates_a_labelled_bridge_once() -> None:
    api = StubApi()
    engine = stub_engine(api)
    assert engine.ensure_network("media_net", {"mediastack.managed": "true"}) is True
    assert engine.ensure_network("media_net", {"mediastack.managed": "true"}) is False
    assert api.created == [
        (
            "media_net",
            {"driver": "bridge", "labels": {"mediastack.managed": "true"}, "check_duplicate": True},
        )
    ]


def test_ensure_network_refuses_a_network_that_is_not_a_bridge() -> None:
    api = StubApi()
    api.networks["media_net"] = {"Id": "abc", "Name": "media_net", "Driver": "overlay"}
    with pytest.raises(EngineError, match="driver overlay, not bridge"):
        stub_engine(api).ensure_network("media_net", {})


def test_inspect_network_matches_the_exact_name_only() -> None:
    api = StubApi()
    # The engine resolves an id prefix too; that is another network.
    api.networks["abc"] = {"Id": "abcdef", "Name": "other", "Driver": "bridge"}
    assert stub_engine(api).inspect_network("abc") is None


def test_remove_network_in_use_is_an_engine_error_with_a_fix() -> None:
    api = StubApi()
    api.networks["media_net"] = {"Id": "abc", "Name": "media_net", "Driver": "bridge"}
    engine = stub_engine(api)
    with pytest.raises(EngineError) as caught:
        engine.remove_network("media_net")
    assert "active endpoints" in caught.value.message
    assert caught.value.fix is not None and "docker network inspect media_net" in caught.value.fix
    assert engine.remove_network("absent") is False
