"""Result rows in long format, written per shard and merged into one table.

Every benchmark number is one row ``{enhancer, dataset, task, metric, cls, value, level, split, protocol, n,
skipped, unit}``: ``cls`` is the class name for per-class numbers and ``""`` for overall ones, ``level`` the
darkness level of a synthetically darkened dataset (``""`` for real data), ``value`` in table units (percent for
percent metrics, see ``evaluation.metrics``), ``n`` the images scored and ``skipped`` the images left out.
Each shard writes the rows of its units to ``results/<shard tag>.csv``; merging concatenates any number of these
files (from one shared work dir or copied from several machines) and keeps one copy of each unit's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.suite.shard import Shard
from evaluation.suite.state import StateStore
from uptflow.utils.io import write_with

__all__ = ["ROW_COLUMNS", "row", "write_shard_results", "read_results", "shard_files_complete"]

ROW_COLUMNS = ["enhancer", "dataset", "task", "metric", "cls", "value", "level", "split", "protocol", "n",
               "skipped", "unit"]
_KEY = ["unit", "enhancer", "dataset", "task", "metric", "cls"]


def row(enhancer: str, dataset: str, task: str, metric: str, value: float, *, split: str = "", protocol: str = "",
        n: int = 0, cls: str = "", level: Any = "", skipped: int = 0, unit: str = "") -> dict[str, Any]:
    """One long-format result row (a plain dict, JSON- and CSV-friendly); ``metric`` must be in the catalogue."""
    from evaluation.metrics import metric as lookup

    lookup(metric)
    return dict(enhancer=enhancer, dataset=dataset, task=task, metric=metric, cls=cls, value=float(value),
                level="" if level is None else str(level), split=split or "", protocol=protocol or "", n=int(n),
                skipped=int(skipped), unit=unit)


def write_shard_results(store: StateStore, results_dir: Path, shard: Shard, units: set[str]) -> Path:
    """Collect the rows of the finished ``units`` (this shard's units of the current config) into one CSV.

    Markers of units that are no longer in the config (changed weights, parameters or data) are left out, so
    the tables never mix an old model's numbers with the new one's.
    """
    rows = [r for m in store.all() if m.get("kind") == "score" and m["unit"] in units for r in m.get("rows", [])]
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    path = Path(results_dir) / f"{shard.tag}.csv"
    write_with(path, lambda tmp: df.to_csv(tmp, index=False))
    return path


def shard_files_complete(results_dir: Path, shard: Shard) -> bool:
    """Whether every shard of this run's sharding has written its results file."""
    return all((Path(results_dir) / f"shard-{i}-of-{shard.count}.csv").is_file() for i in range(shard.count))


def read_results(sources: Iterable[str | Path]) -> pd.DataFrame:
    """Read and merge results: each source is a ``.csv`` file, a results folder or a work dir.

    Duplicate rows of the same unit (a unit scored again by a later run or copied twice) are kept once.
    """
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_file():
            files.append(p)
        elif (p / "results").is_dir():
            files += sorted((p / "results").glob("shard-*.csv"))
        elif p.is_dir():
            files += sorted(p.glob("shard-*.csv"))
        else:
            raise FileNotFoundError(f"--merge: no results at {p} (expected a shard-*.csv file, a results/ folder "
                                    "or a work dir containing results/)")
    frames = [pd.read_csv(f, keep_default_na=False, dtype={"cls": str, "split": str, "protocol": str, "level": str})
              for f in files]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=ROW_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df.drop_duplicates(subset=_KEY, keep="last").reset_index(drop=True)
