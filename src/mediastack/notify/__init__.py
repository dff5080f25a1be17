"""Push notifications: Apprise URLs (ntfy first), sent from a queue that never blocks healing.

Wiring: ``NotificationQueue(NotificationSender(parse_url_list(os.environ[variable])), ...)``;
``put`` a :class:`Notification` for each notice the supervisor's throttle lets through;
``close`` on shutdown.
"""

from mediastack.notify.message import Notification
from mediastack.notify.queue import Delivery, NotificationQueue, QueueStatistics
from mediastack.notify.sender import DeliveryReport, NotificationSender
from mediastack.notify.urls import mask_url, parse_url_list

__all__ = [
    "Delivery",
    "DeliveryReport",
    "Notification",
    "NotificationQueue",
    "NotificationSender",
    "QueueStatistics",
    "mask_url",
    "parse_url_list",
]
