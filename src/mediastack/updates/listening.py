"""Building the supervisor's one listener from the config: the update webhook and the
read-only pages on ``updates.webhook``'s address and port.

Kept apart from ``pipeline`` (the registry client, the docker SDK): the listener serves in
the daemon, which loads none of the update pipeline's libraries (the idle supervisor in
45 MB; ``tests/unit/supervisor/runtime/test_runtime_footprint.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mediastack.config import LoadedConfig
from mediastack.render.environment import secret_value
from mediastack.stack.rendered import require_rendered
from mediastack.updates.webhook import (
    Enqueue,
    Pages,
    WebhookConfigError,
    WebhookServer,
    WebhookSettings,
    webhook_bind_address,
)
from mediastack.updates.wud import ServiceDirectory


def webhook_token(loaded: LoadedConfig, environment: Mapping[str, str]) -> str:
    """Return the webhook token: the variable named by ``updates.webhook.token_variable`` from
    ``environment`` (the supervisor container's), else from the .env file; "" when unset."""
    return secret_value(environment, loaded.env_file, loaded.config.updates.webhook.token_variable)


def build_listener(
    loaded: LoadedConfig,
    enqueue: Enqueue | None,
    environment: Mapping[str, str],
    pages: Callable[[WebhookSettings], Pages] | None = None,
) -> WebhookServer:
    """Return the supervisor's one listener (not started), on ``updates.webhook``'s address
    and port: the update webhook when ``enqueue`` is given (payloads mapped onto the rendered
    stacks' services, each accepted request handed to ``enqueue``), and the read-only GET
    routes ``pages`` builds from its settings. Raise WebhookConfigError when the webhook is
    asked for and its token is missing or too short, and RenderedFileError when nothing is
    rendered."""
    webhook = loaded.config.updates.webhook
    token: str | None = None
    directory = ServiceDirectory(())
    if enqueue is not None:
        token = webhook_token(loaded, environment)
        if not token:
            raise WebhookConfigError(
                f"updates.webhook is enabled but {webhook.token_variable} is not set: put a "
                f"token in .env (e.g. `openssl rand -hex 32`) and the same one in WUD's "
                "WUD_TRIGGER_HTTP_<NAME>_AUTH_BEARER"
            )
        directory = ServiceDirectory(require_rendered(loaded))
    settings = WebhookSettings(
        bind_address=webhook_bind_address(webhook.bind_address, environment),
        port=webhook.port,
        token=token,
        max_body_bytes=webhook.max_body_bytes,
        requests_per_minute=webhook.requests_per_minute,
        read_requests_per_minute=loaded.config.status.requests_per_minute,
    )
    served = pages(settings) if pages is not None else None
    return WebhookServer(settings, directory, enqueue, pages=served)
