"""The supervisor's container image: its Dockerfile and docker shim (shipped in this package)
and the build ``mediastack up`` runs when the image is missing or stale."""

from mediastack.supervisor_image.build import (
    SOURCE_LABEL,
    ImageNeed,
    decide,
    ensure_image,
    ensure_supervisor_image,
    own_image_tag,
)

__all__ = [
    "SOURCE_LABEL",
    "ImageNeed",
    "decide",
    "ensure_image",
    "ensure_supervisor_image",
    "own_image_tag",
]
