"""The supervisor image, built the way `mediastack up` builds it (``mediastack.supervisor_image``),
on a Debian base made here with debootstrap and `docker import`: no registry pull at all.

The base is cached by tag (debootstrap takes a few minutes, once per machine); the supervisor
image by the builder's source label, as for users.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from standins import docker

REPOSITORY_ROOT = Path(__file__).parents[2]
BASE_IMAGE = "mediastack-standin/debian-python:bookworm"
SUPERVISOR_IMAGE = "mediastack-standin/supervisor:test"


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


def ensure_supervisor_image(tag: str = SUPERVISOR_IMAGE) -> str:
    """Return ``tag`` built from this checkout by the builder ``mediastack up`` runs (the
    shipped ``mediastack.supervisor_image``), on the local Debian base; rebuilt only when
    the code changed (the builder's own source label decides, as it does for users)."""
    import os

    from mediastack.adapters.engine import DockerEngine
    from mediastack.adapters.engine_images import connect_images
    from mediastack.supervisor_image.build import ensure_image

    base = ensure_base_image()
    images = connect_images(os.environ)
    ensure_image(DockerEngine.connect(), images, tag, base, print)
    assert not ensure_image(DockerEngine.connect(), images, tag, base, print).build
    return tag
