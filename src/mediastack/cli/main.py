"""The console script ``mediastack`` (and ``python -m mediastack``).

The supervisor daemon runs for months in a 45 MB budget (issue 3), so ``run`` looks at the
arguments first: a plain ``mediastack [-c PATH] supervise [--once] [--state-file PATH] [-v]``
starts the daemon without importing typer, rich or any other command
(``mediastack.cli.daemon_arguments``); everything else, ``supervise --help`` included, goes to
the typer app (``mediastack.cli.app.app_for``: with only the command asked for), unchanged.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from mediastack.cli.daemon_arguments import daemon_request

if TYPE_CHECKING:
    from mediastack.cli.app import app as app


def run() -> None:
    """Console-script entry point."""
    request = daemon_request(sys.argv[1:], os.environ)
    if request is not None:
        from mediastack.cli.supervise_daemon import main

        sys.exit(main(request))
    from mediastack.cli.app import app_for

    app_for(sys.argv[1:])()


def __getattr__(name: str) -> Any:
    """``mediastack.cli.main.app``, as before the app moved to ``mediastack.cli.app``, loaded
    only when asked for (tests drive the app with typer's runner)."""
    if name == "app":
        from mediastack.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
