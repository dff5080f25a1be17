"""Allow ``python -m mediastack``."""

from mediastack.cli.main import run

run()
