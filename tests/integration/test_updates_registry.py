"""A real registry (Debian's ``docker-registry``, distribution 2.8) on 127.0.0.1, and what the
update check relies on, measured against it: the digest one HEAD returns, the digest the engine
records in RepoDigests after a pull by tag (for a multi-arch index too), and the request count.

``LocalRegistry`` is also used by test_updates_pipeline.py and bench/update_bench.py: it starts
the registry with a temporary config (127.0.0.1:<free port>, temporary storage, access log on)
and counts requests on the registry side, from its access log. The engine treats 127.0.0.0/8
registries as insecure-allowed by default, so pushes and pulls use plain http.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from standins import docker

from mediastack.adapters.registry import MANIFEST_PURPOSE, RegistryClient

REGISTRY_BINARY = "docker-registry"
_ACCESS_LINE = re.compile(r'"(HEAD|GET|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" ([0-9]{3})')
_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
BUILD_CONTEXT_PREFIX = "mediastack-update-build-"


@dataclass(frozen=True)
class AccessEntry:
    """One request the registry logged."""

    method: str
    path: str
    status: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalRegistry:
    """``docker-registry serve`` on 127.0.0.1:<free port> with its own storage and log."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log_path = folder / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._mark = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the registry; raise RuntimeError when it does not answer within 15 s."""
        binary = shutil.which(REGISTRY_BINARY)
        if binary is None:
            raise RuntimeError("docker-registry is not installed (scripts/test installs it)")
        config = self.folder / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.folder / 'storage'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n"
        )
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://{self.host}/v2/", timeout=1).status_code == 200:
                    self.mark()
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not answer: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def reference(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def mark(self) -> None:
        """Start counting requests from now (``requests`` returns those after the mark)."""
        self._mark = len(self._entries())

    def requests(self) -> list[AccessEntry]:
        """Return the requests logged since the last mark (the log is flushed per line)."""
        time.sleep(0.2)
        return self._entries()[self._mark :]

    def _entries(self) -> list[AccessEntry]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [
            AccessEntry(found[1], found[2], int(found[3])) for found in _ACCESS_LINE.finditer(text)
        ]

    def push(self, image: str, repository: str, tag: str, *, keep_local: bool = True) -> str:
        """Push local ``image`` as ``repository:tag``; return the pushed manifest digest. The
        local tag for the registry reference is restored to what it was before (unless
        ``keep_local``), so a later ``docker compose pull`` has to fetch the new one."""
        reference = self.reference(repository, tag)
        before = _image_id(reference)
        docker("image", "tag", image, reference)
        pushed = docker("push", reference, timeout=120).stdout
        digest = _PUSHED_DIGEST.search(pushed)
        assert digest is not None, pushed
        if not keep_local:
            if before is not None:
                docker("image", "tag", before, reference)
            else:
                docker("image", "rm", reference)
        return digest[1]


def _image_id(reference: str) -> str | None:
    found = docker("image", "inspect", "--format", "{{.Id}}", reference, check=False)
    return found.stdout.strip() or None


def build_variant(base: str, tag: str, instructions: str) -> str:
    """Build ``tag`` FROM local ``base`` plus ``instructions`` (Dockerfile lines, run with the
    stand-in's busybox); return the tag. Nothing is pulled."""
    with tempfile.TemporaryDirectory(prefix=BUILD_CONTEXT_PREFIX) as folder:
        (Path(folder) / "Dockerfile").write_text(f"FROM {base}\n{instructions}\n")
        docker(
            "build",
            "--pull=false",
            "-q",
            "-t",
            tag,
            folder,
            timeout=300,
            env={"DOCKER_BUILDKIT": "0"},
        )
    return tag


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    running = LocalRegistry(tmp_path_factory.mktemp("registry"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_one_head_returns_the_pushed_digest(
    registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    digest = registry.push(standin_images["sonarr"], "probe/single", "v1")
    registry.mark()
    with RegistryClient() as client:
        answer = client.manifest_digest(registry.host, "probe/single", "v1")
        assert client.requests.count() == 1
        assert client.requests.count(MANIFEST_PURPOSE, "HEAD") == 1
    assert answer.digest == digest
    assert answer.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert registry.requests() == [AccessEntry("HEAD", "/v2/probe/single/manifests/v1", 200)]


def test_a_multi_arch_index_digest_is_what_repo_digests_records(
    registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    """Measured: after a pull by tag the engine records the index digest; a HEAD without the
    index media types in Accept gets one platform's manifest (a different digest)."""
    registry.push(standin_images["sonarr"], "probe/multi", "amd64")
    registry.push(standin_images["radarr"], "probe/multi", "arm64")
    index = registry.reference("probe/multi", "both")
    docker("manifest", "rm", index, check=False)
    docker(
        "manifest",
        "create",
        "--insecure",
        index,
        registry.reference("probe/multi", "amd64"),
        registry.reference("probe/multi", "arm64"),
    )
    docker(
        "manifest",
        "annotate",
        index,
        registry.reference("probe/multi", "arm64"),
        "--arch",
        "arm64",
        "--os",
        "linux",
    )
    index_digest = docker("manifest", "push", "--purge", "--insecure", index).stdout.strip()
    docker("pull", index, timeout=120)
    repo_digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", index).stdout
    with RegistryClient() as client:
        answer = client.manifest_digest(registry.host, "probe/multi", "both")
    platform_only = httpx.head(
        f"http://{registry.host}/v2/probe/multi/manifests/both",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    ).headers["Docker-Content-Digest"]
    assert answer.digest == index_digest
    assert answer.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert f"probe/multi@{index_digest}" in repo_digests
    assert platform_only != index_digest
    docker("image", "rm", index, check=False)


def test_a_missing_tag_is_an_error_not_an_update(registry: LocalRegistry) -> None:
    from mediastack.adapters.registry import RegistryError

    with RegistryClient() as client, pytest.raises(RegistryError, match="does not exist"):
        client.manifest_digest(registry.host, "probe/single", "no-such-tag")
