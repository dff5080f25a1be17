"""The supervisor's read-only web face: a status read model, JSON, /health, /metrics, the
status page (``/``) and its live stream (``/api/v1/stream``).

Served on the update webhook's listener (``mediastack.updates.webhook``). Everything here is
read from what the daemon already keeps on disk (state file, heartbeat, backups folder, update
memory): no engine call, no polling.
"""
