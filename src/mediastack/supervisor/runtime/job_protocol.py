"""What the daemon and a job's short-lived process say to each other: one JSON object a line.

Why a process per job run: port sync needs qbittorrent-api (with requests) and httpx, updates
the registry client and the docker SDK, backups zstandard and tar, wire httpx; once imported
they would stay in the daemon for good (about 25 MB; issue 3 gives the idle supervisor 45 MB).
A run in a child (``python -m mediastack.supervisor.runtime.job_child JOB``) returns all of it
to the system when it ends.

- daemon -> child, on stdin: first the ``JobRequest`` (the job, the config as the daemon
  loaded it, its path, the log level, the job's arguments), then one ``ACK`` line for each
  hold the child announced.
- child -> daemon, on stdout: ``Notify`` (a notification for the daemon's queue),
  ``HoldStarted``/``HoldEnded`` (an update recreating services: the daemon tells the cascade
  and autoheal, and answers ``ACK`` once it has, so no engine event of the update can reach
  the loop before the hold does), and last ``Result`` (the job's own JSON). The child logs to
  stderr, the daemon's log.

Pure: encoding and decoding only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mediastack.notify.message import Notification

CHILD_MODULE = "mediastack.supervisor.runtime.job_child"
ACK = "ack"


class JobName(StrEnum):
    """The jobs a child process runs (its one command-line argument)."""

    PORTSYNC = "portsync"
    UPDATE = "update"
    BACKUP = "backup"
    WIRE = "wire"


class ProtocolError(ValueError):
    """A line that is not a message of this protocol."""


@dataclass(frozen=True)
class JobRequest:
    """One run: the config (``Config.model_dump(mode="json")``) and where it was loaded from,
    whether to log details, and the job's own arguments."""

    config: Mapping[str, Any]
    config_path: str
    verbose: bool = False
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        """Return the request as one line (without its newline)."""
        return json.dumps(
            {
                "config": self.config,
                "config_path": self.config_path,
                "verbose": self.verbose,
                "arguments": self.arguments,
            }
        )

    @classmethod
    def decode(cls, line: str) -> JobRequest:
        """Given the first line of stdin, return the request; raise ProtocolError."""
        data = _object(line)
        try:
            return cls(
                config=dict(data["config"]),
                config_path=str(data["config_path"]),
                verbose=bool(data["verbose"]),
                arguments=dict(data["arguments"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(f"not a job request: {error}") from None


@dataclass(frozen=True)
class Notify:
    notification: Notification


@dataclass(frozen=True)
class HoldStarted:
    services: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class HoldEnded:
    services: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Result:
    payload: Mapping[str, Any]


Message = Notify | HoldStarted | HoldEnded | Result


def encode_message(message: Message) -> str:
    """Return ``message`` as one line (without its newline)."""
    match message:
        case Notify(notification):
            return json.dumps({"type": "notify", "notification": encode_notification(notification)})
        case HoldStarted(services, reason):
            return json.dumps({"type": "hold", "services": list(services), "reason": reason})
        case HoldEnded(services, reason):
            return json.dumps({"type": "release", "services": list(services), "reason": reason})
        case Result(payload):
            return json.dumps({"type": "result", "result": payload})


def decode_message(line: str) -> Message:
    """Given one line of a child's stdout, return its message; raise ProtocolError."""
    data = _object(line)
    try:
        match data["type"]:
            case "notify":
                return Notify(decode_notification(data["notification"]))
            case "hold":
                return HoldStarted(_names(data["services"]), str(data["reason"]))
            case "release":
                return HoldEnded(_names(data["services"]), str(data["reason"]))
            case "result":
                return Result(dict(data["result"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not a job message: {error}") from None
    raise ProtocolError(f"unknown message type {data['type']!r}")


def encode_notification(notification: Notification) -> dict[str, Any]:
    """Return ``notification`` as JSON-ready data."""
    return {
        "title": notification.title,
        "body": notification.body,
        "priority": notification.priority,
        "tags": list(notification.tags),
    }


def decode_notification(data: Mapping[str, Any]) -> Notification:
    """Return the notification ``encode_notification`` made; raise ValueError/KeyError."""
    return Notification(
        str(data["title"]), str(data["body"]), int(data["priority"]), _names(data["tags"])
    )


def _names(values: Sequence[Any]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError("a list of names, not a string")
    return tuple(str(value) for value in values)


def _object(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ProtocolError("not a JSON object")
    return data
