"""The supervisor image, built the way users build it (scripts/build-supervisor-image), on a
Debian base made here with debootstrap and `docker import`: no registry pull at all.

Both images are cached by tag and label: debootstrap takes a few minutes, once per machine.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

from standins import docker

REPOSITORY_ROOT = Path(__file__).parents[2]
BASE_IMAGE = "mediastack-standin/debian-python:bookworm"
SUPERVISOR_IMAGE = "mediastack-standin/supervisor:test"
SOURCE_LABEL = "org.mediastack.source.hash"


def ensure_base_image() -> str:
    """Return the local Debian + python3 base image, making it with debootstrap if missing."""
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    with tempfile.TemporaryDirectory(prefix="mediastack-rootfs-") as folder:
        rootfs = Path(folder) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-", BASE_IMAGE],
            stdin=archive.stdout,
            check=True,
            capture_output=True,
            timeout=600,
        )
        archive.wait(timeout=60)
    return BASE_IMAGE


def source_hash() -> str:
    """Hash of everything that goes into the image, so a changed checkout rebuilds it."""
    digest = hashlib.sha256()
    paths = sorted(REPOSITORY_ROOT.glob("src/mediastack/**/*.py"))
    paths += [REPOSITORY_ROOT / "pyproject.toml", *sorted((REPOSITORY_ROOT / "docker").rglob("*"))]
    for path in paths:
        if path.is_file():
            digest.update(str(path.relative_to(REPOSITORY_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_supervisor_image() -> str:
    """Return the supervisor image built from this checkout (rebuilt when the source changed)."""
    wanted = source_hash()
    inspected = docker(
        "image",
        "inspect",
        "--format",
        f'{{{{index .Config.Labels "{SOURCE_LABEL}"}}}}',
        SUPERVISOR_IMAGE,
        check=False,
    )
    if inspected.returncode == 0 and inspected.stdout.strip() == wanted:
        return SUPERVISOR_IMAGE
    base = ensure_base_image()
    subprocess.run(
        [
            str(REPOSITORY_ROOT / "scripts" / "build-supervisor-image"),
            f"{SUPERVISOR_IMAGE}-unlabelled",
            base,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # The label is added on top so the build script stays what users run.
    with tempfile.TemporaryDirectory() as folder:
        dockerfile = Path(folder) / "Dockerfile"
        dockerfile.write_text(
            f"FROM {SUPERVISOR_IMAGE}-unlabelled\nLABEL {SOURCE_LABEL}={wanted}\n"
        )
        docker(
            "build",
            "--quiet",
            "--tag",
            SUPERVISOR_IMAGE,
            folder,
            timeout=300,
            env={"DOCKER_BUILDKIT": "0"},
        )
    return SUPERVISOR_IMAGE
