"""The read-only GET routes served on the supervisor's listener (beside the update webhook).

``/health`` is open (a monitor probes it without secrets) and says only healthy or not, and
why (``verdict``: the supervisor, the pause, every service's container). Every other route
wants the status token (``status.token_variable``; ``Authorization: Bearer <token>``, or
Basic with the token as password) unless the listener is bound to loopback only, where
whoever can connect is already on the host. Nothing here changes anything: each answer is
read from a fresh ``StatusView``. ``/`` is the status page (``page``), ``/api/v1/stream`` its
live updates (``stream``, bounded there), ``/api/v1/events`` the history (``events``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from mediastack.supervisor.web.events import QueryError, events_json, parse_query
from mediastack.supervisor.web.metrics import CONTENT_TYPE, render_metrics
from mediastack.supervisor.web.page import CONTENT_SECURITY_POLICY, render_page
from mediastack.supervisor.web.status_view import StatusView
from mediastack.supervisor.web.stream import STREAM_PATH, StreamGate, StreamSettings
from mediastack.supervisor.web.summary import summary_of
from mediastack.supervisor.web.topology import Topology
from mediastack.supervisor.web.verdict import stack_verdict
from mediastack.updates.webhook import AUTH_REALM, Answer, token_matches
from mediastack.updates.webhook_http import RequestHead

LOGGER = logging.getLogger(__name__)
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1", "localhost"})
HEALTH_PATH = "/health"
EVENTS_PATH = "/api/v1/events"
NO_STORE = {"Cache-Control": "no-store"}


def token_needed(bind_address: str) -> bool:
    """Return whether the routes want the token: always, unless bound to loopback only."""
    return bind_address not in LOOPBACK_ADDRESSES


class StatusRoutes:
    """Answers GET requests from a fresh view each time (``read_view``)."""

    def __init__(
        self,
        read_view: Callable[[], StatusView],
        token: str,
        *,
        require_token: bool,
        topology: Topology | None = None,
        stream: StreamSettings | None = None,
        token_variable: str = "MEDIASTACK_STATUS_TOKEN",
        read_verdict_view: Callable[[], StatusView] | None = None,
    ) -> None:
        """``read_verdict_view`` reads only what ``/health``'s verdict needs (default: the
        whole view)."""
        self._read_view = read_view
        self._read_verdict_view = read_verdict_view or read_view
        self._token = token
        self._token_variable = token_variable
        self._require_token = require_token
        zones = topology or Topology()
        self._stream = StreamGate(read_view, zones, stream)
        self._routes: dict[str, Callable[[StatusView], Answer]] = {
            "/": lambda view: _page_answer(view, zones),
            "/api/v1/status": lambda view: Answer(HTTPStatus.OK, view.to_json(), NO_STORE),
            "/api/v1/summary": lambda view: Answer(HTTPStatus.OK, summary_of(view), NO_STORE),
            "/metrics": _metrics_answer,
        }

    def answer(self, head: RequestHead) -> Answer:
        """Return the answer to a GET of ``head.target`` (its query string ignored)."""
        path, _, query = head.target.partition("?")
        if not self._require_token and not _loopback_host(head.header("Host")):
            # Open on loopback only for whoever is on this host: a web page elsewhere that
            # points a name of its own at 127.0.0.1 (DNS rebinding) must not read it.
            return Answer(
                HTTPStatus.FORBIDDEN,
                {"error": "this listener answers only to 127.0.0.1, localhost or [::1]"},
            )
        if path != HEALTH_PATH and not self._authorised(head):
            return self._refusal()
        if path == STREAM_PATH:
            return self._stream.answer()
        if path == EVENTS_PATH:
            return self._events(query)
        if path == HEALTH_PATH:
            return self._read(_health_answer, self._read_verdict_view)
        route = self._routes.get(path)
        if route is None:
            pages = sorted([*self._routes, STREAM_PATH, EVENTS_PATH, HEALTH_PATH])
            return Answer(HTTPStatus.NOT_FOUND, {"error": "no such page", "pages": pages})
        return self._read(route)

    def _events(self, query: str) -> Answer:
        try:
            asked = parse_query(query)
        except QueryError as error:
            return Answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        return self._read(lambda view: Answer(HTTPStatus.OK, events_json(view, asked), NO_STORE))

    def _read(
        self,
        route: Callable[[StatusView], Answer],
        reader: Callable[[], StatusView] | None = None,
    ) -> Answer:
        try:
            return route((reader or self._read_view)())
        except Exception:  # a page must never take the listener (or the webhook) down
            LOGGER.exception("cannot answer a GET")
            return Answer(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "the status could not be read"}
            )

    def _refusal(self) -> Answer:
        message = "a valid token is required"
        if not self._token:
            # Not the visitor's fault: say how the owner gives the listener its token.
            message = (
                f"no token is set: {self._token_variable} is missing from .env "
                "(`mediastack up` generates it), so only /health is served"
            )
        return Answer(HTTPStatus.UNAUTHORIZED, {"error": message}, {"WWW-Authenticate": AUTH_REALM})

    def _authorised(self, head: RequestHead) -> bool:
        if not self._require_token:
            return True
        return token_matches(head.header("Authorization"), self._token)


def _loopback_host(host: str | None) -> bool:
    """Return whether a ``Host`` header names this host by a loopback name (none sent: an
    HTTP/1.0 client on the host, allowed)."""
    if host is None:
        return True
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    else:
        name = name.rsplit(":", 1)[0]
    return name in LOOPBACK_ADDRESSES


def _health_answer(view: StatusView) -> Answer:
    verdict = stack_verdict(view)
    status = HTTPStatus.OK if verdict.healthy else HTTPStatus.SERVICE_UNAVAILABLE
    body = {"healthy": verdict.healthy, "reason": verdict.reason}
    return Answer(status, body, NO_STORE)


def _metrics_answer(view: StatusView) -> Answer:
    return Answer(HTTPStatus.OK, render_metrics(view), {**NO_STORE, "Content-Type": CONTENT_TYPE})


def _page_answer(view: StatusView, topology: Topology) -> Answer:
    headers = {
        **NO_STORE,
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return Answer(HTTPStatus.OK, render_page(view, topology).encode(), headers)
