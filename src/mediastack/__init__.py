"""mediastack: a self-healing homelab media stack, as code."""

__version__ = "0.1.0"
