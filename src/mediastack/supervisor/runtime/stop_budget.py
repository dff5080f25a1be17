"""How long each part of the supervisor may take, in its calls and in its stop: one place.

A stop (SIGTERM, ``docker stop``) must end within the supervisor service's rendered
``stop_grace_period`` (``STOP_GRACE_SECONDS``), after which Docker kills it mid-way. The
daemon's ``shutdown`` ends its parts one after the other, each within its budget here, so the
sum of the budgets (``STOP_BUDGET``) is the longest a stop can take; a unit test holds it under
the grace period with ``STOP_MARGIN_SECONDS`` to spare (the interpreter's exit, a slow disk).

The parts, in the order ``shutdown`` ends them:

- event stream, 5 s: its reader thread ends (the socket is shut down under it);
- jobs, 80 s: every running job's process group gets SIGTERM at once; an update finishes the
  service it is on (45 s, then 30 s to roll back it), a backup removes its partial archive,
  port sync and wire end; then SIGKILL to whatever is left of the groups;
- compose call, 95 s: the cascade's call in progress ends; it is bounded by
  ``COMPOSE_CALL_SECONDS`` (90 s), then its group is killed (5 s);
- autoheal restart, 20 s: the engine's restart in progress (a stop timeout of 10 s);
- notifications, 5 s: the queue sends what it can.
"""

from __future__ import annotations

from mediastack.adapters.executor import KILL_GRACE_SECONDS

STOP_GRACE_SECONDS = 240.0
"""The supervisor service's ``stop_grace_period`` (``catalogue.services``; a test compares)."""
STOP_MARGIN_SECONDS = 20.0

COMPOSE_CALL_SECONDS = 90.0
"""Every compose call of the daemon (the cascade's prepare and recreate) ends within this: a
hung ``docker compose`` is killed, with its process group, and counts as a failed attempt,
retried with backoff. Measured: nine dependents recreated in 2.35 s, prepared in ~1.5 s."""

UPDATE_FINISH_SECONDS = 45.0
"""After a stop, how long the update in progress has to finish its service (pull, recreate,
verify); what runs past it is killed and the service is rolled back."""
UPDATE_ROLLBACK_SECONDS = 30.0
"""After a stop, how long a rollback has (on top of ``UPDATE_FINISH_SECONDS``)."""

LISTENER_STOP_SECONDS = 5.0  # its serve loop's join; a request in flight ends by its deadline
PUSH_STOP_SECONDS = 1.0  # a ping in flight ends by its own 10 s bound (a daemon thread)
STREAM_STOP_SECONDS = 5.0
JOBS_STOP_SECONDS = 80.0
COMPOSE_FINISH_SECONDS = COMPOSE_CALL_SECONDS + KILL_GRACE_SECONDS
RESTART_FINISH_SECONDS = 20.0
NOTIFY_CLOSE_SECONDS = 5.0

STOP_BUDGET: dict[str, float] = {
    "event stream": STREAM_STOP_SECONDS,
    "listener": LISTENER_STOP_SECONDS,
    "push pings": PUSH_STOP_SECONDS,
    "jobs": JOBS_STOP_SECONDS,
    "compose call": COMPOSE_FINISH_SECONDS,
    "autoheal restart": RESTART_FINISH_SECONDS,
    "notifications": NOTIFY_CLOSE_SECONDS,
}
"""The parts of a stop, in the order ``SupervisorDaemon.shutdown`` ends them."""
