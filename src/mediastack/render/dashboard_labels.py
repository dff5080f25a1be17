"""Dashboard labels: what Homepage and Glance read from the containers. Pure.

The label names follow, as read in June 2026:

- Homepage (gethomepage/homepage 1.13): docs/configs/docker.md "Automatic Service Discovery"
  and "Widgets" (``homepage.group``, ``.name``, ``.description``, ``.href``; ``.widget.*`` in
  dot notation, ``mappings[0].field`` array style), docs/widgets/services/customapi.md (``url``,
  ``headers``, ``mappings`` with ``field``, ``label``, ``format``; block view shows four).
  Discovery runs every label value through ``substituteEnvironmentVars``
  (src/utils/config/service-helpers), so ``{{HOMEPAGE_VAR_X}}`` is replaced by Homepage's own
  ``HOMEPAGE_VAR_X``: the token never sits in a label, which ``docker inspect`` shows anyone.
- Glance (glanceapp/glance): docs/configuration.md "Docker Containers" and
  internal/glance/widget-docker-containers.go (``glance.name``, ``.description``, ``.url``,
  ``.id``, ``.parent``): a child whose container has exited turns its parent's icon to a
  warning, so gluetun shows its namespace's state.

Homepage gets the supervisor (with a ``customapi`` widget on ``/api/v1/summary`` while the
status surface is on) and the services with a web UI; Glance gets every service. Two kinds of
URL: the widget's, fetched by Homepage's server (``status.dashboard_url``, else the service
name on the shared network), and the links a browser follows (``status.dashboard_url``, else
``network.bind_address`` at the published port when that names one reachable host).
"""

from __future__ import annotations

import ipaddress

from mediastack.catalogue import ServiceDefinition, Zone
from mediastack.config import LoadedConfig

HOMEPAGE = "homepage"
GLANCE = "glance"
SUMMARY_PATH = "/api/v1/summary"
# The compose service name: a dashboard on the shared bridge network resolves it.
SUPERVISOR_SERVICE = "supervisor"
WEBUI_PORT = "webui"
# Where a web UI answers when it is not at "/" (Plex's web app).
WEBUI_PATHS = {"plex": "/web"}
# (field, label, format) per field of supervisor.web.summary.summary_of, in its order (the
# tests compare the fields to a real summary). The port is ``text``, not ``number``: number
# groups digits by locale (51,413) and shows NaN for a port not known (null).
SUMMARY_MAPPINGS = (
    ("vpn", "VPN", "text"),
    ("forwarded_port", "Forwarded port", "text"),
    ("last_cascade", "Last cascade", "text"),
    ("supervisor", "Supervisor", "text"),
)


def dashboard_labels(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, str]:
    """Return the Homepage and Glance labels of one rendered service; none when
    ``status.dashboard_labels`` is off. Every value is a string; no key outside the
    ``homepage.`` and ``glance.`` prefixes."""
    if not loaded.config.status.dashboard_labels:
        return {}
    return homepage_labels(loaded, definition) | glance_labels(loaded, definition)


def homepage_labels(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, str]:
    """Return the ``homepage.*`` labels: the supervisor and services with a web UI, grouped
    under the instance's name; other services none (Homepage lists every labelled one)."""
    is_supervisor = definition.name == SUPERVISOR_SERVICE
    if not is_supervisor and _web_ui_port(definition) is None:
        return {}
    href = page_url(loaded) if is_supervisor else web_ui_url(loaded, definition)
    labels = {
        f"{HOMEPAGE}.group": loaded.config.name,
        f"{HOMEPAGE}.name": definition.name,
        f"{HOMEPAGE}.description": short_description(definition),
    }
    if href is not None:
        labels[f"{HOMEPAGE}.href"] = href
    if is_supervisor and loaded.config.status.enabled:
        labels |= summary_widget_labels(loaded)
    return labels


def summary_widget_labels(loaded: LoadedConfig) -> dict[str, str]:
    """Return the ``customapi`` widget on the summary, the token as Homepage's variable."""
    variable = loaded.config.status.token_variable
    widget = f"{HOMEPAGE}.widget"
    labels = {
        f"{widget}.type": "customapi",
        f"{widget}.url": dashboard_base_url(loaded) + SUMMARY_PATH,
        f"{widget}.headers.Authorization": f"Bearer {{{{HOMEPAGE_VAR_{variable}}}}}",
    }
    for index, (field, label, value_format) in enumerate(SUMMARY_MAPPINGS):
        labels[f"{widget}.mappings[{index}].field"] = field
        labels[f"{widget}.mappings[{index}].label"] = label
        labels[f"{widget}.mappings[{index}].format"] = value_format
    return labels


def glance_labels(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, str]:
    """Return the ``glance.*`` labels: every service named and described, a web UI linked;
    gluetun the parent of every service in its namespace."""
    labels = {
        f"{GLANCE}.name": definition.name,
        f"{GLANCE}.description": short_description(definition),
    }
    is_supervisor = definition.name == SUPERVISOR_SERVICE
    url = page_url(loaded) if is_supervisor else web_ui_url(loaded, definition)
    if url is not None:
        labels[f"{GLANCE}.url"] = url
    if definition.zone == Zone.GLUETUN:
        labels[f"{GLANCE}.id"] = gluetun_glance_id(loaded)
    elif definition.zone == Zone.VPN:
        labels[f"{GLANCE}.parent"] = gluetun_glance_id(loaded)
    return labels


def gluetun_glance_id(loaded: LoadedConfig) -> str:
    """Return gluetun's Glance id, scoped by the instance: Glance pairs parents and children
    by this value across every container of the engine, so two instances on one engine must
    not share it."""
    return f"{loaded.config.name}-gluetun"


def dashboard_base_url(loaded: LoadedConfig) -> str:
    """Return the base URL a dashboard reaches the supervisor's listener at, without a
    trailing slash: ``status.dashboard_url``, else the service name on the shared network."""
    configured = loaded.config.status.dashboard_url
    if configured is not None:
        return configured.rstrip("/")
    return f"http://{SUPERVISOR_SERVICE}:{loaded.config.updates.webhook.port}"


def page_url(loaded: LoadedConfig) -> str | None:
    """Return the link a browser follows to the status page: under ``status.dashboard_url``,
    else on the port the host publishes at ``network.bind_address``; None while the status
    surface is off or no browser elsewhere reaches that address (the service name, which
    the widget's server-side requests use, resolves on the bridge network only)."""
    if not loaded.config.status.enabled:
        return None
    if loaded.config.status.dashboard_url is not None:
        return dashboard_base_url(loaded) + "/"
    host = browser_host(loaded)
    if host is None:
        return None
    return f"http://{host}:{loaded.config.updates.webhook.port}/"


def web_ui_url(loaded: LoadedConfig, definition: ServiceDefinition) -> str | None:
    """Return the web UI a browser opens: ``network.bind_address`` at the published host
    port. None without a web UI, or when no browser elsewhere reaches that address."""
    port = _web_ui_port(definition)
    host = browser_host(loaded)
    if port is None or host is None:
        return None
    # Compose imports this module, so its port rule is looked up when first needed.
    from mediastack.render.compose import host_port_of

    # A host-network service listens on its container port: no override moves it.
    if definition.zone != Zone.HOST:
        port = host_port_of(loaded, definition, WEBUI_PORT)
    return f"http://{host}:{port}{WEBUI_PATHS.get(definition.name, '')}"


def browser_host(loaded: LoadedConfig) -> str | None:
    """Return ``network.bind_address`` as a URL host, or None when it names no one host a
    browser on another machine reaches: a wildcard (every interface; which is the LAN's is
    not known) or loopback (behind a reverse proxy, whose URLs are not known)."""
    address = ipaddress.ip_address(loaded.config.network.bind_address)
    if address.is_unspecified or address.is_loopback:
        return None
    return f"[{address}]" if address.version == 6 else str(address)


def short_description(definition: ServiceDefinition) -> str:
    """Return the catalogue description up to its first aside (``; ...`` or `` (...)``), the
    part that fits under a dashboard tile."""
    text = definition.description
    for separator in ("; ", " ("):
        text = text.split(separator, 1)[0]
    return text


def _web_ui_port(definition: ServiceDefinition) -> int | None:
    return next(
        (port.container for port in definition.ports if port.name == WEBUI_PORT and port.publish),
        None,
    )
