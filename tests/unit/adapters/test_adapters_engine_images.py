"""The update pipeline's image store through the Engine API, against a stand-in engine on a
unix socket that replays answers captured from engine 20.10 (tests/fixtures/engine/http-image-*,
http-container-inspect-*) and hand-made failures: only a 404 is "absent"; a 403 from a socket
proxy, a 500, an engine gone or an answer that is not JSON is an error, never "no images"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_stand_in import ANSWER_TIMEOUT_SECONDS, StandInEngine, answer, captured

from mediastack.adapters.engine_images import (
    EngineImages,
    PrintedImages,
    connect_images,
    split_target,
)
from mediastack.adapters.engine_socket import EngineEndpoint, SocketEngine
from mediastack.adapters.errors import EngineError, EngineUnreachableError

SONARR_ID = "sha256:0ca224a070d28a0dfa0f3c52c860285438c4f9a542138aea33dffb409c64390c"
SOLO_ID = "sha256:07f3ecfbc838b1e72c3aa4685f9691944e2562bf70d27ae606f9934fa9eacd83"
CONTAINER_ID = "96f014917d5b70fa7023eeb8cdbbbc2f252cf28037741056fc14fcea05599c7e"
PULLED = "127.0.0.1:48445/msfixture-images/pulled:1"
PULLED_DIGEST = (
    "127.0.0.1:48445/msfixture-images/pulled@"
    "sha256:e3b25684629dfd1100c395a7aef1d914485b664482c0fc9b08fe7c86cfefb68a"
)
BACKUP = "mediastack-rollback/msfixture-images-sonarr:previous"
PROXY_FORBIDDEN = answer(
    403,
    "Forbidden",
    b"<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.",
)
SERVER_ERROR = answer(
    500, "Internal Server Error", b'{"message":"layer store broke"}\n', "application/json"
)

Routes = dict[str, bytes]
"""``METHOD /path`` (with the API version) -> the raw answer; anything else: a 404."""


class Engine:
    """A stand-in engine answering from a table, and the image store on it."""

    def __init__(self, folder: Path) -> None:
        self.routes: Routes = {}
        self._stand_in = StandInEngine(folder / "engine.sock", self._route)
        self.images = EngineImages(
            SocketEngine(self._stand_in.endpoint, "1.41", ANSWER_TIMEOUT_SECONDS)
        )

    @property
    def requests(self) -> list[str]:
        return self._stand_in.requests

    def close(self) -> None:
        self._stand_in.close()

    def _route(self, method: str, path: str) -> bytes:
        return self.routes.get(f"{method} {path}", captured("image-inspect-not-found"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    stand_in = Engine(tmp_path)
    try:
        yield stand_in
    finally:
        stand_in.close()


# -- reads ---------------------------------------------------------------------------------------


def test_an_image_is_read_with_its_tags_and_digests(engine: Engine) -> None:
    engine.routes[f"GET /v1.41/images/{PULLED}/json"] = captured("image-inspect-pulled")
    engine.routes["GET /v1.41/images/msfixture-images/sonarr:latest/json"] = captured(
        "image-inspect"
    )
    found = engine.images.inspect_images([PULLED, "msfixture-images/sonarr:latest", "absent:1"])
    assert set(found) == {PULLED, "msfixture-images/sonarr:latest"}  # absent: a 404
    pulled = found[PULLED]
    assert pulled.id == SONARR_ID
    assert pulled.repo_digests == (PULLED_DIGEST,)
    assert PULLED in pulled.repo_tags
    # `up` decides on rebuilding the supervisor image from these (its source label).
    assert pulled.labels == {"org.mediastack.standin.hash": "618ce86e6327c4f8aa3453d0f67d85a2"}
    local = found["msfixture-images/sonarr:latest"]
    assert local.repo_digests == ()  # built here, never pulled
    assert local.repo_tags == ("mediastack-standin/sonarr:test", "msfixture-images/sonarr:latest")


def test_the_image_a_container_runs(engine: Engine) -> None:
    engine.routes[f"GET /v1.41/containers/{CONTAINER_ID}/json"] = captured(
        "container-inspect-image"
    )
    engine.routes["GET /v1.41/containers/gone/json"] = captured("container-inspect-not-found")
    assert engine.images.container_image_ids([CONTAINER_ID, "gone"]) == {CONTAINER_ID: SOLO_ID}
    assert engine.requests == [
        f"GET /v1.41/containers/{CONTAINER_ID}/json",
        "GET /v1.41/containers/gone/json",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PROXY_FORBIDDEN, "answered 403: <html><body><h1>403 Forbidden</h1>"),
        (SERVER_ERROR, "answered 500: layer store broke"),
        (answer(200, "OK", b"[]", "application/json"), "not a JSON object"),
        (answer(200, "OK", b"<html>", "text/html"), "not a JSON object"),
    ],
)
def test_a_read_that_fails_is_an_error_not_an_empty_store(
    engine: Engine, raw: bytes, expected: str
) -> None:
    engine.routes["GET /v1.41/images/sonarr:latest/json"] = raw
    engine.routes["GET /v1.41/containers/abc/json"] = raw
    with pytest.raises(EngineError, match=expected):
        engine.images.inspect_images(["sonarr:latest"])
    with pytest.raises(EngineError, match=expected):
        engine.images.container_image_ids(["abc"])


def test_a_socket_proxy_that_forbids_the_path_says_which_variables_to_set(
    engine: Engine,
) -> None:
    engine.routes["GET /v1.41/images/sonarr:latest/json"] = PROXY_FORBIDDEN
    with pytest.raises(EngineError) as refused:
        engine.images.inspect_images(["sonarr:latest"])
    assert "GET /v1.41/images/sonarr:latest/json answered 403" in refused.value.message
    assert refused.value.fix is not None and "IMAGES=1" in refused.value.fix


def test_no_engine_is_unreachable_never_empty(tmp_path: Path) -> None:
    nowhere = SocketEngine(EngineEndpoint(socket_path=str(tmp_path / "none.sock")), "1.41")
    images = EngineImages(nowhere)
    with pytest.raises(EngineUnreachableError):
        images.inspect_images(["sonarr:latest"])
    with pytest.raises(EngineUnreachableError):
        images.container_image_ids(["abc"])
    with pytest.raises(EngineUnreachableError):
        connect_images({"DOCKER_HOST": f"unix://{tmp_path / 'none.sock'}"})


# -- changes -------------------------------------------------------------------------------------


def test_a_tag_is_moved_with_the_repository_and_tag_apart(engine: Engine) -> None:
    query = "repo=mediastack-rollback/msfixture-images-sonarr&tag=previous"
    tag = f"POST /v1.41/images/{SONARR_ID}/tag?{query}"
    engine.routes[tag] = captured("image-tag")
    engine.images.tag(SONARR_ID, BACKUP)
    assert engine.requests == [tag]


def test_a_refused_tag_is_an_error(engine: Engine) -> None:
    with pytest.raises(EngineError, match="answered 404: no such image"):
        engine.images.tag("sha256:" + "0" * 64, BACKUP)


def test_removing_a_tag_and_one_already_gone(engine: Engine) -> None:
    remove = f"DELETE /v1.41/images/{BACKUP}?noprune=1"
    engine.routes[remove] = captured("image-remove-tag")
    engine.images.remove_tag(BACKUP)
    engine.routes[remove] = captured("image-remove-not-found")
    engine.images.remove_tag(BACKUP)  # a 404: nothing to remove, fine
    assert engine.requests == [remove, remove]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("image-remove-in-use", "answered 409: conflict: unable to remove repository reference"),
        (None, "answered 500: layer store broke"),
    ],
)
def test_a_refused_removal_is_an_error(engine: Engine, name: str | None, expected: str) -> None:
    engine.routes["DELETE /v1.41/images/msfixture-images/solo:1?noprune=1"] = (
        captured(name) if name else SERVER_ERROR
    )
    with pytest.raises(EngineError, match=expected):
        engine.images.remove_tag("msfixture-images/solo:1")


# -- the dry run and the names -------------------------------------------------------------------


def test_a_dry_run_writes_the_requests_and_makes_none(engine: Engine) -> None:
    lines: list[str] = []
    printed = engine.images.printing(lines.append)
    printed.tag(SONARR_ID, BACKUP)
    printed.remove_tag(BACKUP)
    assert lines == [
        f"engine: POST /v1.41/images/{SONARR_ID}/tag"
        "?repo=mediastack-rollback/msfixture-images-sonarr&tag=previous",
        f"engine: DELETE /v1.41/images/{BACKUP}?noprune=1",
    ]
    assert engine.requests == []
    assert isinstance(printed, PrintedImages) and printed.inspect_images(["x"]) == {}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("lscr.io/linuxserver/sonarr:latest", ("lscr.io/linuxserver/sonarr", "latest")),
        ("nginx", ("nginx", "latest")),
        ("127.0.0.1:5000/mediastack/sonarr", ("127.0.0.1:5000/mediastack/sonarr", "latest")),
        ("127.0.0.1:5000/mediastack/sonarr:stable", ("127.0.0.1:5000/mediastack/sonarr", "stable")),
    ],
)
def test_a_target_is_split_into_repository_and_tag(target: str, expected: tuple[str, str]) -> None:
    assert split_target(target) == expected


def test_the_store_follows_docker_host(tmp_path: Path) -> None:
    stand_in = StandInEngine(tmp_path / "relay.sock", lambda method, path: captured("version"))
    try:
        images = connect_images({"DOCKER_HOST": f"unix://{tmp_path / 'relay.sock'}"})
    finally:
        stand_in.close()
    assert images.api_version == "1.41"
    assert stand_in.requests == ["GET /version"]
