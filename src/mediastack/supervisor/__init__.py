"""The supervisor's pure decision core: events in, actions out, time injected.

- ``clock``: the Clock protocol, the system clock and a fake one for tests.
- ``events``: Docker events parsed at the edge (``parse_container_event``, ``relevance``).
- ``observations``: what the runtime feeds the cascade (engine facts and action results).
- ``actions``: what the core asks the runtime to do (recreate, verify, restart, notify...).
- ``cascade``: the VPN cascade state machine; ``progress`` its in-flight record.
- ``limits``: the rolling-window cascade limit and the loop pause.
- ``backoff``: deterministic capped exponential backoff with bounded attempts.
- ``autoheal``: the unhealthy-container restart policy.
- ``notify_policy``: deduplication of notifications.
- ``state``: the SQLite state file.

Nothing here talks to Docker, sleeps or starts a thread; ``runtime`` (the daemon behind
``mediastack supervise``) does, around this core.
"""
