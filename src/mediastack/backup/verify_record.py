"""What an archive's verification record says: read alone, so the supervisor's status pages
list the backups without loading the archive reader (zstandard) or the backup machinery."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from mediastack.backup.naming import verify_record_path


class VerifyState(StrEnum):
    """What is known about an archive's soundness."""

    VERIFIED = "verified"
    FAILED = "failed"
    UNVERIFIED = "unverified"  # never verified, or changed since


def read_state(archive: Path, size: int) -> tuple[VerifyState, datetime | None]:
    """Given an archive and its current size, return what its record says, and when it was
    checked. No record, an unreadable one, or one for another size: unverified."""
    try:
        document = json.loads(verify_record_path(archive).read_text(encoding="utf-8"))
        state = VerifyState(document["state"])
        checked_at = datetime.fromisoformat(document["checked_at"])
        recorded_size = int(document["archive_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return VerifyState.UNVERIFIED, None
    if recorded_size != size:
        return VerifyState.UNVERIFIED, None
    return state, checked_at

