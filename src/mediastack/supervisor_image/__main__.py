"""``python -m mediastack.supervisor_image TAG [BASE_IMAGE]``: build the supervisor image from
the installed mediastack, as ``mediastack up`` does (used by scripts/build-supervisor-image)."""

from __future__ import annotations

import sys

from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.errors import AdapterError
from mediastack.supervisor_image.build import build

DEFAULT_BASE = "python:3.11-slim-bookworm"


def main(arguments: list[str]) -> int:
    """Build TAG (always, even when it exists); return the exit code."""
    if not 1 <= len(arguments) <= 2:
        print("usage: python -m mediastack.supervisor_image TAG [BASE_IMAGE]", file=sys.stderr)
        return 2
    tag, base = arguments[0], (arguments[1] if len(arguments) == 2 else DEFAULT_BASE)
    try:
        build(DockerEngine.connect(), tag, base, lambda line: print(line, file=sys.stderr))
    except AdapterError as error:
        fix = f"\nfix: {error.fix}" if error.fix else ""
        print(f"error: {error.message}{fix}", file=sys.stderr)
        return 1
    print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
