"""One push notification, independent of any service: title, body, ntfy priority and tags."""

from __future__ import annotations

from dataclasses import dataclass

MINIMUM_PRIORITY = 1
MAXIMUM_PRIORITY = 5
DEFAULT_PRIORITY = 3

NTFY_PRIORITY_NAMES = {1: "min", 2: "low", 3: "default", 4: "high", 5: "max"}
"""ntfy's priority words, as Apprise's ntfy plugin accepts them in ``?priority=``."""


@dataclass(frozen=True)
class Notification:
    """A message for the phone. ``priority`` is ntfy's scale (1 min .. 5 max/urgent); ``tags``
    are ntfy tags (names of emoji such as ``warning`` show as the emoji).

    Raise ValueError when the priority is outside 1..5 or a tag is empty or holds a comma.
    """

    title: str
    body: str
    priority: int = DEFAULT_PRIORITY
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not MINIMUM_PRIORITY <= self.priority <= MAXIMUM_PRIORITY:
            raise ValueError(f"priority must be 1 to 5, not {self.priority}")
        for tag in self.tags:
            if not tag.strip() or "," in tag:
                raise ValueError(f"a tag must be a non-empty word without commas, not {tag!r}")

    @property
    def ntfy_priority(self) -> str:
        """Return ntfy's word for this priority (``min`` .. ``max``)."""
        return NTFY_PRIORITY_NAMES[self.priority]

    @property
    def apprise_type(self) -> str:
        """Return the Apprise notification type for services without priorities: ``info`` up
        to the default priority, ``warning`` for high, ``failure`` for urgent."""
        if self.priority >= MAXIMUM_PRIORITY:
            return "failure"
        if self.priority > DEFAULT_PRIORITY:
            return "warning"
        return "info"
