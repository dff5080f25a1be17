"""The supervisor's read-only web face: a status read model, JSON, /health and /metrics.

Served on the update webhook's listener (``mediastack.updates.webhook``). Everything here is
read from what the daemon already keeps on disk (state file, heartbeat, backups folder, update
memory): no engine call, no polling.
"""
