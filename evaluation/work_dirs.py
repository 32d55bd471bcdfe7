"""Which run a results folder belongs to, so a run of other settings into the same folder replaces exactly the
files the earlier run wrote, and never a file of the user's.

``owner.json`` in a unit folder (or in an area command's work dir holding several enhancers' units) records who wrote
it (a unit's identity digest, or ``comparison``), the files and folders it wrote there and the sub-folders holding
units of their own. :func:`claim_folder` reads it before a run writes anything.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uptflow.utils.io import atomic_write_json

__all__ = ["OWNER_FILE", "PROGRESS", "claim_folder"]

log = logging.getLogger(__name__)

OWNER_FILE = "owner.json"
PROGRESS = "progress"  # a unit's per-image records, progress/<identity digest>.jsonl (evaluation.benchmark)
_SIGNATURE = "uptflow"  # written_by of every record: an owner.json of anyone else's is never taken for one
_LOG_NAME = re.compile(r"[0-9a-f]{12}\.jsonl")


def claim_folder(folder: str | os.PathLike, owner: str, outputs: Sequence[str], units: Sequence[str] = ()) -> None:
    """Make ``folder`` hold the outputs of ``owner`` alone, before ``owner`` writes any.

    When another owner wrote the folder, what that one recorded (its files and folders, and in each unit sub-folder
    what that unit recorded) is removed, with one warning; the same owner keeps its files (a killed run resumes) and
    loses only those it no longer writes. A file named like one of ``outputs`` that no record lists is refused
    (ValueError), since it is someone else's, except in a folder an earlier version of uptflow wrote (its progress
    logs), which starts over. Nothing else is touched, nor a unit sub-folder without a record of its own.

    Args:
        folder: the folder.
        owner: who writes it (a unit's identity digest, or ``comparison``).
        outputs: the files and folders ``owner`` writes, relative to ``folder``.
        units: sub-folders holding units of their own (a comparison's ``<label>/``), each claimed by its unit.
    """
    folder = Path(folder)
    before = _read_record(folder)
    if before is None and _ran_here(folder):  # an earlier version's: start over, unless it ran this very unit
        logs = {p.name for p in (folder / PROGRESS).glob("*.jsonl")} if (folder / PROGRESS).is_dir() else set()
        before = {"owner": owner if logs == {f"{owner}.jsonl"} else None, "outputs": list(outputs), "units": []}
    # a file named like one of ours that no record lists is someone else's (another command's, or the user's)
    _refuse_unrecorded(folder, [n for n in outputs if before is None or n not in before["outputs"]])
    before = before or {"owner": None, "outputs": [], "units": []}
    same = before["owner"] == owner
    stale = [n for n in before["outputs"] if not same or n not in outputs]
    gone_units = [u for u in before["units"] if not same or u not in units]
    # the progress log last: a run killed in between still finds the mark of a run of ours and finishes the removal
    removed = [n for n in sorted(stale, key=lambda n: n == PROGRESS) if _remove(folder, n)]
    removed += [u for u in gone_units if _remove_unit(folder, u)]
    if removed:
        log.warning("%s held results of another run or of enhancers no longer given (%s); they were removed", folder,
                    ", ".join(removed))
    record = {"written_by": _SIGNATURE, "owner": owner, "outputs": list(outputs), "units": list(units)}
    if before != record:  # after the removal: a run killed in between removes the rest next time
        atomic_write_json(folder / OWNER_FILE, record)


def _read_record(folder: Path) -> dict[str, Any] | None:
    """The owner record of ``folder``; None without one; ValueError for an ``owner.json`` that is not ours."""
    marker = folder / OWNER_FILE
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        record = None
    names = ("outputs", "units")
    if not (isinstance(record, dict) and record.get("written_by") == _SIGNATURE and isinstance(record.get("owner"), str)
            and all(isinstance(record.get(k), list) and all(isinstance(n, str) for n in record[k]) for k in names)):
        raise ValueError(f"{marker}: not an owner record written by uptflow; give a new --work-dir, or move the "
                         "folder's files away")
    return record


def _ran_here(folder: Path) -> bool:
    """Whether an earlier version of uptflow (before owner records) wrote units in ``folder`` or its sub-folders."""
    logs = [folder / PROGRESS, *(d / PROGRESS for d in folder.iterdir() if d.is_dir() and not d.is_symlink())] \
        if folder.is_dir() else []
    return any(_LOG_NAME.fullmatch(p.name) for d in logs if d.is_dir() for p in d.iterdir())


def _refuse_unrecorded(folder: Path, names: Sequence[str]) -> None:
    """Refuse a folder holding any of ``names``, files no run of uptflow recorded writing there (a photo folder with
    an ``images/`` given as the work dir, a ``summary.md`` of the user's): they are never removed nor overwritten."""
    present = [name for name in names if os.path.lexists(folder / name)]
    if present:
        raise ValueError(f"{folder}: holds {', '.join(present)}, which no uptflow run recorded writing there (see "
                         f"{OWNER_FILE}); give a new --work-dir, or move them away")


def _inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` when ``name`` is a plain relative name that stays inside ``folder``, else None."""
    rel = Path(name)
    return None if rel.is_absolute() or ".." in rel.parts or not rel.parts else folder / rel


def _remove(folder: Path, name: str) -> bool:
    """Remove the output ``name`` of ``folder`` (a folder of outputs whole, a link itself); whether there was one."""
    path = _inside(folder, name)
    if path is None or not os.path.lexists(path):
        return False
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    return True


def _remove_unit(folder: Path, name: str) -> bool:
    """Remove what the unit in sub-folder ``name`` recorded writing, then its record (and the folder once empty);
    a sub-folder without a record of ours is left as it is. Whether anything was removed."""
    path = _inside(folder, name)
    if path is None or path.is_symlink() or not path.is_dir():
        return False
    try:
        record = _read_record(path)
    except ValueError:
        return False
    if record is None:
        return False
    for inner in sorted(record["outputs"], key=lambda n: n == PROGRESS):
        _remove(path, inner)
    for unit in record["units"]:
        _remove_unit(path, unit)
    (path / OWNER_FILE).unlink()
    if not any(path.iterdir()):
        path.rmdir()
    return True
