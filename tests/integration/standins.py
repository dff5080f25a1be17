"""Stand-in images and Docker helpers for the integration tests.

No test may pull from a public registry, so every image the tests run is built here, locally,
``FROM scratch`` with Debian's static busybox (package ``busybox-static``). The Dockerfiles and
scripts live in ``tests/integration/standins/``; see its README for what each image does.

Each image is labelled with a hash of its inputs (busybox, the stand-in files, the build
arguments) and rebuilt only when no image with that tag and hash exists.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

STANDIN_SOURCES = Path(__file__).parent / "standins"
HASH_LABEL = "org.mediastack.standin.hash"
IMAGE_REPOSITORY = "mediastack-standin"
IMAGE_TAG = "test"
GLUETUN_IMAGE = f"{IMAGE_REPOSITORY}/gluetun:{IMAGE_TAG}"
TEST_PROJECT_PREFIX = "mstest"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

# The real services' web UI ports; 0: no web UI (the stand-in stays up without listening).
SERVICE_PORTS: dict[str, int] = {
    "qbittorrent": 8080,
    "prowlarr": 9696,
    "flaresolverr": 8191,
    "sonarr": 8989,
    "radarr": 7878,
    "bazarr": 6767,
    "unpackerr": 5656,
    "cross-seed": 2468,
    "recyclarr": 0,
    "seerr": 5055,
    "maintainerr": 6246,
    "suggestarr": 5000,
    "tautulli": 8181,
    "plex": 32400,
    "jellyfin": 8096,
    "socket-proxy": 2375,
    "ntfy": 80,
    "whatsupdocker": 3000,
}
# Addresses other than 0.0.0.0: plex runs with network_mode: host, so only on loopback.
SERVICE_BINDS: dict[str, str] = {"plex": "127.0.0.1"}


class DockerCommandError(RuntimeError):
    """A docker command failed; carries the command, exit code and output."""

    def __init__(self, command: Sequence[str], returncode: int, stdout: str, stderr: str):
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"command failed (exit {returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{stdout.rstrip()}\n--- stderr ---\n{stderr.rstrip()}"
        )


class StandinBuildError(DockerCommandError):
    """Building a stand-in image failed."""


def docker(
    *args: str,
    timeout: float = 120,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS``; return the finished process; raise DockerCommandError on a
    non-zero exit when ``check`` (a timeout raises subprocess.TimeoutExpired)."""
    command = ["docker", *args]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
        check=False,
    )
    if check and completed.returncode != 0:
        raise DockerCommandError(command, completed.returncode, completed.stdout, completed.stderr)
    return completed


def compose(
    project: str, compose_file: Path, *args: str, timeout: float = 180, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose -p PROJECT -f FILE ARGS`` (see docker())."""
    return docker(
        "compose", "-p", project, "-f", str(compose_file), *args, timeout=timeout, check=check
    )


def image_tag(service: str) -> str:
    """Return the stand-in image tag for ``service``."""
    return f"{IMAGE_REPOSITORY}/{service}:{IMAGE_TAG}"


def build_standin_images(
    services: Mapping[str, int], binds: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Given service name -> port (0: no web UI), build the app stand-in for each service
    (binding SERVICE_BINDS or ``binds`` addresses, else 0.0.0.0); return service -> image tag.
    Raise StandinBuildError when a build fails."""
    addresses = {**SERVICE_BINDS, **(binds or {})}
    wanted = {
        image_tag(service): {
            "SERVICE": service,
            "PORT": str(port),
            "BIND": addresses.get(service, "0.0.0.0"),
        }
        for service, port in services.items()
    }
    build_images(STANDIN_SOURCES / "app", wanted)
    return {service: image_tag(service) for service in services}


def build_gluetun_standin() -> str:
    """Build the gluetun stand-in if needed; return its image tag."""
    build_images(STANDIN_SOURCES / "gluetun", {GLUETUN_IMAGE: {}})
    return GLUETUN_IMAGE


def session_prefix() -> str:
    """Return the start of every compose project and network name this test process makes:
    ``mstest``, its pid in hex, ``p``. Two test runs on one engine (two engineers, or CI
    beside a bench) then never remove each other's projects."""
    return f"{TEST_PROJECT_PREFIX}{os.getpid():x}p"


def remove_abandoned_test_resources() -> None:
    """Remove the ``mstest*`` projects and networks of test processes that are gone (killed
    or crashed before their cleanup ran), and any in the older name form without a pid."""
    label = "com.docker.compose.project"
    listed = docker(
        "ps", "-a", "--filter", f"label={label}", "--format", f'{{{{.Label "{label}"}}}}'
    )
    networks = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    names = {*listed.stdout.split(), *networks}
    abandoned = {
        _session_of(name)
        for name in names
        if name.startswith(TEST_PROJECT_PREFIX) and not _is_alive(_pid_of(name))
    }
    for prefix in sorted(abandoned):
        remove_test_resources(prefix)


def _pid_of(name: str) -> int | None:
    found = re.match(rf"{TEST_PROJECT_PREFIX}([0-9a-f]+)p", name)
    return int(found.group(1), 16) if found else None


def _session_of(name: str) -> str:
    """Return the session prefix of a test project name (the whole name in the older form)."""
    found = re.match(rf"{TEST_PROJECT_PREFIX}[0-9a-f]+p", name)
    return found.group(0) if found else name


def _is_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def remove_test_resources(prefix: str = TEST_PROJECT_PREFIX) -> None:
    """Remove the containers and volumes of every compose project whose name starts with
    ``prefix``, and every network whose name does."""
    containers = _in_projects_with_prefix(["ps", "-a"], "{{.ID}}", prefix)
    if containers:
        docker("rm", "-f", "-v", *containers)
    volumes = _in_projects_with_prefix(["volume", "ls"], "{{.Name}}", prefix)
    if volumes:
        docker("volume", "rm", "-f", *volumes)
    listed = docker("network", "ls", "--format", "{{.Name}}")
    networks = [name for name in listed.stdout.split() if name.startswith(prefix)]
    if networks:
        docker("network", "rm", *networks)


def _in_projects_with_prefix(listing: list[str], field: str, prefix: str) -> list[str]:
    """Run the docker ``listing`` command; return ``field`` of the objects whose compose
    project label starts with ``prefix``."""
    label = "com.docker.compose.project"
    listed = docker(
        *listing, "--filter", f"label={label}", "--format", f'{field} {{{{.Label "{label}"}}}}'
    )
    found = []
    for line in listed.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].startswith(prefix):
            found.append(fields[0])
    return found


def build_images(
    source: Path,
    wanted: Mapping[str, Mapping[str, str]],
    extra_files: Mapping[str, Path] | None = None,
) -> None:
    """Build the Dockerfile in ``source`` once per tag -> build args in ``wanted``, skipping
    tags whose image already carries the same content hash. The build context is ``source``
    plus ``busybox`` (the static one) plus ``extra_files`` (context-relative path -> host file,
    copied with its content, symlinks followed); all of them go into the hash. Raise
    StandinBuildError when a build fails."""
    extras = dict(extra_files or {})
    base_hash = _source_hash(source, extras)
    hashes = {tag: _with_args(base_hash, build_args) for tag, build_args in wanted.items()}
    present = _present_hashes(list(wanted))
    missing = [tag for tag in wanted if present.get(tag) != hashes[tag]]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="mediastack-standin-") as context_dir:
        context = Path(context_dir) / "context"
        shutil.copytree(source, context)
        shutil.copy2(find_static_busybox(), context / "busybox")
        for destination, host_file in extras.items():
            target = context / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(host_file, target)  # follows symlinks: the image gets the content
        for tag in missing:
            _docker_build(context, tag, wanted[tag], hashes[tag])


def _docker_build(context: Path, tag: str, build_args: Mapping[str, str], digest: str) -> None:
    arguments = ["build", "--pull=false", "-t", tag, "--label", f"{HASH_LABEL}={digest}"]
    for name, value in build_args.items():
        arguments += ["--build-arg", f"{name}={value}"]
    try:
        # The legacy builder: Debian's engine has no buildx, and it needs no network.
        docker(*arguments, str(context), timeout=300, env={"DOCKER_BUILDKIT": "0"})
    except DockerCommandError as error:
        raise StandinBuildError(
            error.command, error.returncode, error.stdout, error.stderr
        ) from None


def _present_hashes(tags: Sequence[str]) -> dict[str, str]:
    """Return tag -> hash label of those ``tags`` that exist as images (one docker call)."""
    listed = docker(
        "image",
        "inspect",
        "--format",
        f'{{{{json .RepoTags}}}}\t{{{{index .Config.Labels "{HASH_LABEL}"}}}}',
        *tags,
        check=False,
    )
    present: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        repo_tags, _, digest = line.partition("\t")
        for tag in tags:
            if f'"{tag}"' in repo_tags:
                present[tag] = digest.strip()
    return present


def _source_hash(source: Path, extra_files: Mapping[str, Path] | None = None) -> str:
    digest = hashlib.sha256(b"mediastack-standin v1\0")
    digest.update(_file_digest(find_static_busybox()).encode())
    for path in sorted(source.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    # Only when there are extra files, so the existing stand-ins keep their hashes.
    extras = extra_files or {}
    for destination in sorted(extras):
        content = _file_digest(str(extras[destination].resolve()))
        digest.update(f"extra\0{destination}\0{content}\0".encode())
    return digest.hexdigest()


def _with_args(base_hash: str, build_args: Mapping[str, str]) -> str:
    text = base_hash + "".join(f"\0{key}={build_args[key]}" for key in sorted(build_args))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def _file_digest(path: str) -> str:
    """Return the sha256 of the file at ``path`` (cached: busybox and the peers' libraries are
    hashed once per run)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.cache
def find_static_busybox() -> str:
    """Return the path of a statically linked busybox (env MEDIASTACK_BUSYBOX, else Debian's
    busybox-static at /bin/busybox); raise FileNotFoundError naming the fix when there is none."""
    override = os.environ.get("MEDIASTACK_BUSYBOX")
    candidates = [override] if override else list(BUSYBOX_CANDIDATES)
    for candidate in candidates:
        if Path(candidate).is_file() and not _has_interpreter(Path(candidate)):
            return candidate
    raise FileNotFoundError(
        f"no statically linked busybox at {', '.join(candidates)}: "
        "install it with `apt-get install busybox-static` (scripts/test does)"
    )


def _has_interpreter(path: Path) -> bool:
    """Return True when the ELF file at ``path`` asks for a dynamic loader (PT_INTERP)."""
    with path.open("rb") as elf:
        header = elf.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
            return True
        order = "<" if header[5] == 1 else ">"
        (program_offset,) = struct.unpack_from(order + "Q", header, 0x20)
        entry_size, entry_count = struct.unpack_from(order + "HH", header, 0x36)
        elf.seek(program_offset)
        table = elf.read(entry_size * entry_count)
    pt_interp = 3
    return any(
        struct.unpack_from(order + "I", table, index * entry_size)[0] == pt_interp
        for index in range(entry_count)
    )
