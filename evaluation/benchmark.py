"""The benchmark contract: one class per task, registered in ``evaluation.registry.BENCHMARKS``.

A benchmark declares the dataset types it reads, the metrics it can report (names of ``evaluation.metrics``) and
its settings (its constructor, which is the schema of its entry in suite configs); ``run`` scores one
(enhancer, dataset) unit into a folder and returns result rows. The suite and the area commands
(``python -m evaluation.detection`` ...) call the same class, so a number means the same from either.

Identity and resume: :func:`unit_identity` is everything a unit's numbers depend on (task settings and metrics,
the dataset's identity, the enhancer's name, parameters and weights checksum). Inside a unit folder, per-image
progress is kept in ``progress/<identity digest>.jsonl`` (:class:`ProgressLog`), so an interrupted run resumes
exactly. A folder holds the outputs of one identity (:mod:`evaluation.work_dirs`): a unit run into a folder
another identity wrote removes that one's outputs first, so no image or table of the other run is left beside (or
resumed under) this one's numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from evaluation.work_dirs import PROGRESS, claim_folder
from uptflow.utils.io import atomic_write_text

__all__ = ["Benchmark", "UnitResult", "TableSpec", "ProgressLog", "unit_identity", "model_identity", "digest",
           "describe_enhancer", "evaluate", "file_identity", "data_line"]

log = logging.getLogger(__name__)


def digest(obj: Any, n: int = 12) -> str:
    """Short SHA-256 of ``obj`` as canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:n]


def describe_enhancer(enhancer: Any) -> dict[str, Any]:
    """The enhancer's identity without where its weights happen to lie (their checksum stays); ``none`` for None."""
    if enhancer is None:
        return {"name": "none"}
    return {k: v for k, v in enhancer.describe().items() if k != "weights"}


def file_identity(path: str | os.PathLike | None) -> dict[str, Any] | None:
    """A settings file by its name and content (SHA-256), not where it lies; None for None. A missing file keeps its
    path (the unit then fails on it, naming it)."""
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        return {"missing": str(p)}
    from uptflow.utils.io import file_sha256

    return {"file": p.name, "sha256": file_sha256(p)}


def model_identity(spec: dict[str, Any]) -> dict[str, Any]:
    """What a detector / segmenter spec computes, without building the model: its settings, the checksum of its
    checkpoint and of its resolved config (so editing a config file in place is a new identity), and of the weights
    an ``EnhanceLowLight`` step of its pipeline loads."""
    ident = {k: v for k, v in spec.items() if k != "device"}
    ckpt = spec.get("checkpoint")
    if ckpt and Path(str(ckpt)).expanduser().is_file():
        from uptflow.utils.io import file_sha256

        ident["checkpoint"] = Path(str(ckpt)).name
        ident["checkpoint_sha256"] = file_sha256(Path(str(ckpt)).expanduser())
    if spec.get("config"):
        from uptflow.plugins.transforms import pipeline_enhancers
        from uptflow.utils.mmconfig import load_config

        resolved = load_config(spec["config"], spec.get("cfg_options"), for_inference=True).to_dict()
        ident["config_sha256"] = digest(resolved, 64)
        if enhancers := pipeline_enhancers(resolved, where=str(spec["config"])):
            ident["pipeline_enhancers"] = enhancers
    return ident


def unit_identity(benchmark: Benchmark, dataset: Any, enhancer: Any) -> dict[str, Any]:
    """Everything one unit's numbers depend on."""
    return dict(task=benchmark.task, settings=benchmark.settings(), dataset=dataset.identity(),
                enhancer=describe_enhancer(enhancer))


@dataclass
class UnitResult:
    """What one unit produced: long-format rows (see ``evaluation.suite.results.row``), images scored, skipped
    images (``{file, reason}``), the protocol line and extra files worth linking."""

    rows: list[dict[str, Any]]
    n: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    protocol: str = ""
    pipeline: str = ""  # what the task model's own pipeline enhances with (``gamma``), "" when nothing

    def row_label(self, enhancer: str) -> str:
        """The enhancer's row name in tables: its label, and what the model's own pipeline enhances with, if
        anything (``none (pipeline: gamma)``), so no row passes for images the model saw un-enhanced."""
        return f"{enhancer} (pipeline: {self.pipeline})" if self.pipeline else enhancer


@dataclass(frozen=True)
class TableSpec:
    """One table the suite builds from a task's rows.

    Args:
        name: file stem under ``tables/``.
        title: heading.
        datasets: config names of the datasets it covers (None: all datasets of the task).
        per_class: also build one per-class table (classes as columns) per dataset and metric.
        paper: add the paper's reported rows where a dataset's ``paper_key`` matches.
    """

    name: str
    title: str
    datasets: tuple[str, ...] | None = None
    per_class: bool = False
    paper: bool = False


class ProgressLog:
    """Per-image records of one unit identity, appended as JSON lines (fsync'd) so a killed run resumes exactly.

    The file is named by the identity's digest: records of another enhancer, weights or setting in the same folder
    are never read. A last line cut short by a kill is dropped (that image is redone). The folder is made by the
    first record, so a run that fails before any leaves none behind.
    """

    folder: ClassVar[str] = PROGRESS

    def __init__(self, out_dir: str | os.PathLike, identity: dict[str, Any]) -> None:
        self.path = Path(out_dir) / self.folder / f"{digest(identity)}.jsonl"
        self.done: dict[str, Any] = {}
        if self.path.is_file():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            for no, line in enumerate(lines, start=1):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    if no == len(lines):  # cut short by a kill: redo that image
                        atomic_write_text(self.path, "".join(f"{ln}\n" for ln in lines[:-1]))
                        break
                    raise ValueError(f"{self.path}:{no}: corrupt progress record; delete the file to start "
                                     "this unit over") from None
                self.done[rec["name"]] = rec["record"]

    def add(self, name: str, record: Any) -> None:
        """Store the record of image ``name`` durably."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "record": record}, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[name] = record


class Benchmark:
    """Base of every task benchmark.

    Subclasses set the class attributes and implement :meth:`run`; their ``__init__`` takes typed keyword
    settings (validated by the suite against the signature) and calls ``super().__init__(metrics, device)``.
    Every setting is part of :meth:`settings` (the units' identity), except ``device`` and those named in
    ``output_settings`` (which only choose the files a unit keeps); a contract test checks this for every benchmark.
    ``outputs`` names every file and folder a unit writes (besides its progress log), so that a unit of another
    identity in the same folder removes exactly those (:meth:`start`).

    Args:
        metrics: names (from ``evaluation.metrics``) to report; None for ``default_metrics``.
        device: torch device of the task's model; not part of any identity (results must not depend on it).
    """

    task: ClassVar[str] = ""
    title: ClassVar[str] = ""
    dataset_types: ClassVar[tuple[str, ...]] = ()
    # task-config keys that name datasets -> the dataset types each accepts (None: dataset_types)
    dataset_keys: ClassVar[dict[str, tuple[str, ...] | None]] = {"dataset": None, "datasets": None}
    metrics: ClassVar[tuple[str, ...]] = ()
    default_metrics: ClassVar[tuple[str, ...]] = ()
    output_settings: ClassVar[tuple[str, ...]] = ()  # settings that choose kept files only, never a number
    outputs: ClassVar[tuple[str, ...]] = ()  # files and folders a unit writes, relative to its folder
    work_dir_outputs: ClassVar[tuple[str, ...]] = ()  # what the area command writes beside its units (a figure)

    def __init__(self, metrics: Sequence[str] | None = None, device: str = "cpu") -> None:
        chosen = tuple(metrics) if metrics is not None else self.default_metrics
        unknown = [m for m in chosen if m not in self.metrics]
        if unknown:
            raise ValueError(f"metrics: {self.task} cannot report {unknown} (it reports: {', '.join(self.metrics)})")
        if not chosen:
            raise ValueError(f"metrics: the list is empty (choose from {', '.join(self.metrics)})")
        self.selected = chosen
        self.device = device
        # a claim of the folder above the unit, made by the first unit that starts (see evaluate)
        self._claim_before_start: Callable[[], None] | None = None

    def settings(self) -> dict[str, Any]:
        """The settings the numbers depend on (subclasses add theirs); part of every unit's identity.

        The metrics' conventions are in it as the protocol lines print them, so a unit computed under a metric
        definition that has changed since is recomputed, never printed under the new one's description."""
        return {"metrics": list(self.selected), "conventions": self.metric_conventions()}

    def metric_conventions(self) -> str:
        """The conventions of every metric this benchmark reports, as its protocol lines print them."""
        from evaluation.metrics import conventions

        return conventions(self.selected)

    def start(self, out_dir: Path, identity: dict[str, Any]) -> ProgressLog:
        """Take ``out_dir`` for the unit of ``identity`` (another identity's outputs there are removed) and open its
        progress log; called once the unit's model is built, so a failed start leaves the folder as it was. The
        first unit of a comparison claims the comparison's folder first, for the same reason."""
        if self._claim_before_start is not None:
            claim, self._claim_before_start = self._claim_before_start, None
            claim()
        claim_folder(out_dir, digest(identity), (ProgressLog.folder, *self.outputs, *self.work_dir_outputs))
        return ProgressLog(out_dir, identity)

    @contextmanager
    def claiming_first(self, claim: Callable[[], None] | None) -> Iterator[None]:
        """Within the block, the first unit that starts (:meth:`start`) runs ``claim`` before claiming its own
        folder; a claim no unit reached is dropped at the end."""
        self._claim_before_start = claim
        try:
            yield
        finally:
            self._claim_before_start = None

    def pending(self, dataset: Any, plog: ProgressLog, enhancer: Any, progress: bool = True) -> Iterator[Any]:
        """``(sample, image)`` for the images of ``dataset`` not done yet, with a progress bar; an image that cannot
        be loaded is recorded as skipped (file and reason) and left out."""
        from tqdm import tqdm

        label = describe_enhancer(enhancer)["name"]
        for s, img in tqdm(dataset.images(skip=plog.done), total=len(dataset) - len(plog.done),
                           desc=f"{self.task} {label}", unit="img", disable=not progress):
            if isinstance(img, Exception):
                plog.add(s.name, {"skipped": str(img)})
                continue
            yield s, img

    def accepts(self, dataset_type: str) -> bool:
        """Whether this task reads datasets of ``dataset_type``."""
        return dataset_type in self.dataset_types

    def run(self, dataset: Any, enhancer: Any, out_dir: Path, progress: bool = True) -> UnitResult:
        """Score ``enhancer`` (an Enhancer / cache with ``describe()``, or None for the raw input) on ``dataset``,
        writing the unit's own files into ``out_dir``."""
        raise NotImplementedError

    @classmethod
    def dataset_refs(cls, cfg: dict[str, Any]) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """``(config key, dataset name, accepted types)`` for every dataset a task config of this benchmark reads
        (the keys of ``dataset_keys``: one name or a list of names)."""
        for key, types in cls.dataset_keys.items():
            value = cfg.get(key)
            if isinstance(value, str):
                yield key, value, types or cls.dataset_types
            elif isinstance(value, (list, tuple)):
                for i, name in enumerate(value):
                    yield f"{key}[{i}]", name, types or cls.dataset_types

    @classmethod
    def table_specs(cls, task: str, cfg: dict[str, Any]) -> list[TableSpec]:
        """The tables of a task config of this benchmark (default: one table of every dataset)."""
        return [TableSpec(task, cls.title or task)]


def data_line(dataset: Any) -> str:
    """``Data: ...``: the data a summary's numbers come from (type, folder, images, the reader's settings given,
    the darkening), for the summaries people read without metrics.json."""
    given = [f"{k}={v}" for k, v in dataset.settings.items() if k != "degrade" and v is not None and v is not False]
    line = f"Data: {dataset.type} {dataset.root}, {len(dataset)} images" + "".join(f", {g}" for g in given)
    if dataset.degrade is not None:
        line += f"; darkened with {dataset.degrade.describe()['spec']} (seed {dataset.seed})"
    return line


def evaluate(benchmark: Benchmark, dataset: Any, enhancers: dict[str, Any], work_dir: str | os.PathLike,
             progress: bool = True) -> tuple[Any, list[dict[str, str]]]:
    """Run ``benchmark`` on ``dataset`` for every ``{label: enhancer or None}``: the area commands' runner.

    One enhancer writes its unit into ``work_dir`` itself; several write ``work_dir/<label>/`` each. A summary of
    every unit (one row per enhancer, one column per metric, in table units) goes to ``work_dir/summary.csv/.md``.
    A work dir holds one layout: a unit written into it replaces an earlier comparison's folders, and the reverse;
    a comparison drops the folders of enhancers it no longer runs.

    Returns:
        The summary frame (its ``attrs["protocols"]``: the units' protocol lines, each once) and every skipped image
        (``{enhancer, file, reason}``), those the reader left out included.
    """
    import pandas as pd

    work = Path(work_dir)
    # every comparison has one owner: a rerun with other enhancers or settings keeps the units that still apply;
    # claimed when the first unit starts, so that a unit whose model fails to build leaves an earlier run's results
    # in the work dir as they were
    claim = partial(claim_folder, work, "comparison", ("summary.csv", "summary.md", *benchmark.work_dir_outputs),
                    units=tuple(enhancers)) if len(enhancers) > 1 else None
    rows, protocols = [], []
    unread = [dict(enhancer="(reading)", **b) for b in dataset.unread]
    skipped = list(unread)
    with benchmark.claiming_first(claim):
        for label, enh in enhancers.items():
            out = work if len(enhancers) == 1 else work / label
            res = benchmark.run(dataset, enh, out, progress=progress)
            protocols.append(res.protocol)
            skipped += [dict(enhancer=label, **b) for b in res.skipped]
            values = {r["metric"]: r["value"] for r in res.rows if not r.get("cls")}  # per-class: in the unit folder
            rows.append(dict(enhancer=res.row_label(label), images=res.n, skipped=len(unread) + len(res.skipped),
                             **values))
    summary = pd.DataFrame(rows)
    summary.attrs["protocols"] = list(dict.fromkeys(protocols))
    if len(enhancers) > 1:
        atomic_write_text(work / "summary.csv", summary.to_csv(index=False))
        body = summary.round(4).astype(object).where(summary.notna(), None).to_markdown(index=False, missingval="–")
        lines = "\n".join(f"Protocol: {p}" for p in summary.attrs["protocols"])
        atomic_write_text(work / "summary.md", f"{body}\n\n{lines}\n{data_line(dataset)}\n")
    return summary, skipped
