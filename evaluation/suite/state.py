"""Per-unit done markers: one small JSON file per finished unit of work, written atomically.

A unit (training one enhancer, scoring one enhancer on one dataset for one task) is done exactly when its
marker exists; the marker carries the unit's result rows. Killing the run at any point (even ``kill -9``)
leaves either no marker or a complete one, so a rerun skips finished units and redoes only the interrupted
one. One file per unit (instead of one shared JSON) lets shards on several machines write to the same
folder without locks.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from uptflow.utils.io import atomic_write_json

__all__ = ["StateStore"]


class StateStore:
    """Done markers under ``root`` (``<root>/<unit id with / -> __>.json``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, unit: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", unit.replace("/", "__"))
        return self.root / f"{safe}.json"

    def is_done(self, unit: str) -> bool:
        """Whether ``unit`` has a complete marker."""
        return self.load(unit) is not None

    def load(self, unit: str) -> dict[str, Any] | None:
        """Return the marker payload of ``unit``, or None when it is not done (or the marker is unreadable)."""
        p = self._path(unit)
        if not p.is_file():
            return None
        try:
            payload = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            # atomic writes make this impossible unless someone edited the file; treat the unit as not done
            return None
        return payload if payload.get("unit") == unit else None

    def mark_done(self, unit: str, payload: dict[str, Any] | None = None) -> Path:
        """Write the marker of ``unit`` atomically, with ``payload`` and the finish time; return its path."""
        p = self._path(unit)
        atomic_write_json(p, {"unit": unit, "finished_at": time.time(), **(payload or {})})
        return p

    def all(self) -> list[dict[str, Any]]:
        """Every readable marker payload, sorted by unit id."""
        out = []
        for p in sorted(self.root.glob("*.json")):
            try:
                payload = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if "unit" in payload:
                out.append(payload)
        return out
