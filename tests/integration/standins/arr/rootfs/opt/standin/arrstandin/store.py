"""The stand-in's state: one JSON file in /config, so a restart keeps it and deleting the file
(then restarting) is "the app was reinstalled and came back empty", as deleting the real
app's database is.

Collections of resources with integer ids (ids grow and are never reused, like SQLite's
AUTOINCREMENT primary keys the Servarr apps use) plus loose settings.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

STATE_FILE = "standin-state.json"


class Store:
    """Thread-safe resource collections persisted to ``folder/STATE_FILE`` on every change."""

    def __init__(self, folder: Path):
        self.path = folder / STATE_FILE
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {"collections": {}, "next_ids": {}, "settings": {}}
        if self.path.exists():
            self._data = json.loads(self.path.read_text())

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Return copies of every ``kind`` resource, by id."""
        with self._lock:
            items = self._data["collections"].get(kind, {})
            return [copy.deepcopy(items[key]) for key in sorted(items, key=int)]

    def get(self, kind: str, identifier: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._data["collections"].get(kind, {}).get(str(identifier))
            return copy.deepcopy(found) if found is not None else None

    def insert(self, kind: str, item: dict[str, Any]) -> dict[str, Any]:
        """Store ``item`` under a new id (set in the copy returned)."""
        with self._lock:
            identifier = self._data["next_ids"].get(kind, 1)
            self._data["next_ids"][kind] = identifier + 1
            stored = {**copy.deepcopy(item), "id": identifier}
            self._data["collections"].setdefault(kind, {})[str(identifier)] = stored
            self._save()
            return copy.deepcopy(stored)

    def replace(self, kind: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._data["collections"].setdefault(kind, {})[str(item["id"])] = copy.deepcopy(item)
            self._save()

    def delete(self, kind: str, identifier: int) -> bool:
        """Remove the resource; return False when there was none."""
        with self._lock:
            removed = self._data["collections"].get(kind, {}).pop(str(identifier), None)
            self._save()
            return removed is not None

    def setting(self, name: str, default: Any = None) -> Any:
        with self._lock:
            return copy.deepcopy(self._data["settings"].get(name, default))

    def set_setting(self, name: str, value: Any) -> None:
        with self._lock:
            self._data["settings"][name] = copy.deepcopy(value)
            self._save()

    def _save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._data, indent=1, sort_keys=True))
        os.replace(temporary, self.path)
