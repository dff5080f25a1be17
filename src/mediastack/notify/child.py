"""Delivering notifications from a short-lived child process (the supervisor daemon's way).

Why: the process that sends through Apprise keeps Apprise, requests and urllib3 loaded for
good, about 17 MB; the supervisor runs for months and has 45 MB when idle (bench/README.md,
"Supervisor: idle footprint"), so after its first notification it would never be under it
again. ``ChildSender`` has the same ``send`` as ``NotificationSender`` (the queue cannot tell
them apart) and runs it in ``python -m mediastack.notify.child``: the URLs and the message go
in on stdin as JSON (never in the arguments, which ``ps`` shows: the URLs hold tokens), the
``DeliveryReport`` comes back on stdout as JSON, and the child's own log lines go to the
daemon's log. It costs a Python start and Apprise's import per send, about a second of CPU;
notifications are rare (the daemon's throttle folds look-alikes into one).

A child that fails (cannot start, times out, answers nothing readable) makes every URL of the
send retryable: the queue's bounded attempts then decide, as for a failed HTTP request.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import Executor, SubprocessExecutor
from mediastack.notify.message import Notification
from mediastack.notify.sender import DeliveryReport, NotificationSender

logger = logging.getLogger(__name__)

CHILD_MODULE = "mediastack.notify.child"
SEND_TIMEOUT_SECONDS = 120.0
"""A send to every URL, each with Apprise's own connect and read timeouts."""


class ChildSender:
    """Sends notifications to a fixed list of Apprise URLs, each send in a child process."""

    def __init__(
        self,
        urls: Sequence[str],
        executor: Executor | None = None,
        timeout_seconds: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        self._urls = tuple(urls)
        self._executor = executor or SubprocessExecutor()
        self._timeout = timeout_seconds

    @property
    def urls(self) -> tuple[str, ...]:
        """Return the URLs this sender delivers to."""
        return self._urls

    def send(self, notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        """Deliver ``notification`` to ``urls`` (all when None) from a child; never raise."""
        chosen = self._urls if urls is None else tuple(urls)
        request = json.dumps({"urls": list(chosen), "notification": asdict(notification)})
        try:
            result = self._executor.run(
                [sys.executable, "-m", CHILD_MODULE],
                input=request,
                timeout=self._timeout,
                check=False,
                secrets=chosen,
            )
        except AdapterError as error:
            logger.warning("the notification process did not run: %s", error.message)
            return DeliveryReport(retryable=chosen)
        for line in result.stderr.splitlines():
            logger.warning("notification process: %s", line)
        report = report_from_json(result.stdout, chosen)
        if report is None:
            logger.warning(
                "the notification process ended with exit code %d and no report",
                result.exit_code,
            )
            return DeliveryReport(retryable=chosen)
        return report


def report_to_json(report: DeliveryReport) -> str:
    """Return the report as the child prints it."""
    return json.dumps(
        {
            "delivered": list(report.delivered),
            "retryable": list(report.retryable),
            "rejected": list(report.rejected),
        }
    )


def report_from_json(text: str, urls: Sequence[str]) -> DeliveryReport | None:
    """Return the report the child printed, or None when ``text`` is none (or names a URL
    that was not sent to)."""
    try:
        document: Any = json.loads(text)
        lists = {name: tuple(str(url) for url in document[name]) for name in _OUTCOMES}
    except (ValueError, TypeError, KeyError):
        return None
    if not set().union(*lists.values()) <= set(urls):
        return None
    return DeliveryReport(**lists)


_OUTCOMES = ("delivered", "retryable", "rejected")


def main() -> int:
    """The child: read the request on stdin, send, print the report; exit 0 once printed."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    request = json.load(sys.stdin)
    fields = request["notification"]
    notification = Notification(
        title=fields["title"],
        body=fields["body"],
        priority=fields["priority"],
        tags=tuple(fields["tags"]),
    )
    report = NotificationSender(request["urls"]).send(notification)
    print(report_to_json(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
