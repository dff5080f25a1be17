"""The supervisor's side effects around the pure core: ``mediastack supervise``.

- ``messages``: what reaches the daemon's one loop (its inbox).
- ``event_stream``: the Docker events stream on its own thread, reconnected with backoff.
- ``discovery``: reads the engine: gluetun, its dependents and why each is stale, health.
- ``recreate``: recreates dependents with one compose call per project, a result per service.
- ``verify``: event-driven verification that a recreated dependent is healthy in gluetun's
  namespace (checked again on that container's events, a last time at the deadline).
- ``restarts``: autoheal's ``docker restart``.
- ``workers``: runs blocking jobs (compose calls, restarts) one at a time, off the loop.
- ``notices``: the core's notices as push notifications; ``decision_log``: the log lines.
- ``daemon``: the loop: messages in, core decisions saved, then executed.
- ``heartbeat``: the file the loop writes to prove it turns and the stream is connected,
  and the healthcheck's verdict on it.
- ``instance``: one supervisor per state file; ``wiring``: builds the real daemon;
  ``report``: the state file as ``mediastack status`` shows it.

Threads: the event stream and the workers only ever put messages into the inbox; every
decision and every write of the state file happens on the daemon's loop thread.
"""
