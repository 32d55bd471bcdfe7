"""The suite's stages: (1) enhancers, (2) datasets and the enhance-once cache, (3) task benchmarks, (4) tables.

Work is cut into units (train one enhancer; score one enhancer on one dataset for one task). A unit's identity is
everything its numbers depend on (``evaluation.benchmark.unit_identity``: task settings and metrics, the dataset's
identity, the enhancer's name, parameters and weights checksum); its id and its folder carry the identity's digest,
and it is done exactly when its marker exists in ``<work_dir>/state`` (:mod:`evaluation.suite.state`), the only
authority on what is done. So a changed weights file, parameter, task setting or metric list reruns exactly the
units it affects, into fresh folders, and a run killed at any point continues where it stopped. A failing image is
reported and counted and the rest is scored; a failing unit is reported and the others go on. Each shard
(``--shard i/N``) does its share of images and units; results merge in the tables stage.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.benchmark import digest, unit_identity
from evaluation.suite.config import ConfigError, SuiteConfig
from evaluation.suite.results import read_results, row, shard_files_complete, write_shard_results
from evaluation.suite.runinfo import git_commit, versions
from evaluation.suite.shard import Shard
from evaluation.suite.state import StateStore
from uptflow.utils.io import TEMP_MARK, atomic_write_json, remove_if_abandoned

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ResumeError", "ReadyEnhancer", "Unit", "Suite", "SUITE_FOLDERS"]

# the folders under the work dir that the suite creates and writes, and the stems of its top-level records
SUITE_FOLDERS = ("state", "results", "units", "tables", "report", "logs", "data", "train")
SUITE_RECORDS = ("run_info-", "skipped-", "failures-")
# how long shards other than 0 wait for shard 0 to finish training an enhancer
_TRAIN_WAIT_S = 6 * 3600


def _input_file(sample: Any) -> str:
    """How the run names a sample's input when it is left out: its file (a video frame: its name)."""
    return str(sample.path or sample.name)


def _replace_tables(written: list[Path], folder: Path) -> None:
    """Remove the table files the suite wrote into ``folder`` before and not this time (a task dropped from the
    config, a table with no current units), and nothing else: the list of its own files is kept beside them."""
    record = folder / ".uptflow-tables.json"
    before = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else []
    names = sorted(p.name for p in written)
    for name in set(before) - set(names):
        (folder / name).unlink(missing_ok=True)
    atomic_write_json(record, names)


class ResumeError(RuntimeError):
    """The work dir already holds this shard's run and --resume was not given."""


@dataclass
class ReadyEnhancer:
    """An enhancer built and wrapped in the shared enhanced-image cache.

    ``selected`` is False for an enhancer this invocation does not run (left out by ``--enhancers`` or used only by
    tasks left out by ``--only``): it is built only so that its finished units stay in the tables.
    """

    label: str
    name: str
    cache: Any
    selected: bool = True

    @property
    def key(self) -> str:
        """Cache key: name + params + weights checksum."""
        return self.cache.key

    def record(self) -> dict[str, Any]:
        """JSON-friendly description for run_info and the report."""
        return dict(label=self.label, **self.cache.describe(), cache=str(self.cache.dir), selected=self.selected)


def _unit_key(unit_id: Any) -> tuple[str, ...] | None:
    """``(task, dataset, enhancer label)`` of a unit id ``score/<task>/<dataset>/<label>/<digest>`` (None: not one)."""
    parts = str(unit_id).split("/")
    return tuple(parts[1:4]) if len(parts) == 5 else None


@dataclass
class Unit:
    """One scoring unit: a task's benchmark run by one enhancer on one dataset."""

    id: str
    task: str
    dataset: str
    enhancer: ReadyEnhancer
    identity: dict[str, Any]
    out_dir: Path


class Suite:
    """One invocation of the suite on one shard.

    Args:
        cfg: validated config.
        shard: this process's shard.
        only: tasks to run (config task names); None for all configured tasks.
        enhancer_labels: enhancers to run (labels); None for all.
        resume: continue a run found in the work dir instead of refusing to touch it.
        progress: show tqdm bars.
    """

    def __init__(self, cfg: SuiteConfig, shard: Shard | None = None, only: list[str] | None = None,
                 enhancer_labels: list[str] | None = None, resume: bool = False, progress: bool = True) -> None:
        self.cfg = cfg
        self.shard = shard or Shard()
        self.only = [t for t in cfg["tasks"] if only is None or t in only]
        self.enhancer_labels = enhancer_labels
        self.resume = resume
        self.progress = progress
        self.work_dir = cfg.work_dir
        self.store = StateStore(self.work_dir / "state")
        self.skipped: list[dict[str, str]] = []
        self.failures: list[dict[str, str]] = []
        self.bad_images: list[dict[str, str]] = []
        self.timings: dict[str, float] = {}
        self.counts = dict(trained=0, enhanced=0, cached=0, scored=0, reused=0, images_skipped=0)
        self.enhancers: list[ReadyEnhancer] = []
        self.datasets: dict[str, Any] = {}
        self._units: list[Unit] | None = None  # computed once the enhancers and datasets are in
        self._log_path = self.work_dir / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.shard.tag}.log"

    # ------------------------------------------------------------------ helpers
    def log(self, msg: str) -> None:
        """Print a progress line and append it to this run's log file."""
        print(msg, flush=True)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "a", encoding="utf-8") as f:
            f.write(msg + "\n")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage and log its start and end."""
        self.log(f"== {name}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 2)
            self.log(f"== {name}: {self.timings[name]:.1f} s")

    def skip(self, kind: str, what: str, reason: str) -> None:
        """Record and print a skipped enhancer / dataset / task."""
        self.skipped.append(dict(kind=kind, what=what, reason=reason))
        self.log(f"{what}: skipped, {reason}")

    def fail(self, unit: str, err: BaseException) -> None:
        """Record and print a failed image or unit; the suite goes on."""
        # the class's bare name, not its module path: the message itself names the file or key
        lines = str(err).strip().splitlines()
        tb = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
        self.failures.append(dict(unit=unit, error=tb))
        self.log(f"FAILED {unit}: {tb}")

    def bad_image(self, where: str, file: str, reason: str) -> None:
        """Record an input file that could not be used (it is left out; the exit status will be 1), once: reading
        and every unit that meets it report it, but the run counts files (each unit's table says what it left out)."""
        if any(b["file"] == file for b in self.bad_images):
            return
        self.bad_images.append(dict(where=where, file=file, reason=reason))
        self.counts["images_skipped"] += 1
        self.log(f"SKIPPED image {file} ({where}): {reason}")

    def unit_skipped(self, unit: Unit, skipped: list[dict[str, str]]) -> None:
        """Record the samples a unit left out (benchmarks name them by sample) as the input files they are."""
        if not skipped:
            return
        samples = {s.name: s for s in self.datasets[unit.dataset].samples}
        for b in skipped:
            s = samples.get(b["file"])
            self.bad_image(unit.id, _input_file(s) if s is not None else b["file"], b["reason"])

    def _write_json(self, stem: str, obj: Any) -> None:
        atomic_write_json(self.work_dir / f"{stem}-{self.shard.tag}.json", obj)

    # ------------------------------------------------------------------ run
    def check_resume(self) -> None:
        """Refuse to continue an earlier run of this shard in the work dir unless --resume was given (a run that
        stopped before finishing any unit, e.g. on a config error, has nothing to protect)."""
        marker = self.work_dir / f"run_info-{self.shard.tag}.json"
        # state/ is made with the Suite; a run writes its run_info-*.json before any of the others
        ours = [p for p in SUITE_FOLDERS if p != "state" and (self.work_dir / p).exists()]
        if ours and not any(self.work_dir.glob("run_info-*.json")):  # e.g. a folder with a report/ of the user's
            raise ResumeError(f"{self.work_dir} holds {', '.join(ours)} but no suite run (no run_info-*.json); "
                              "choose another --work-dir, or move them away")
        n = len(self.store.all()) if marker.is_file() and not self.resume else 0
        if n:
            raise ResumeError(f"{self.work_dir} already holds a run of this suite ({n} finished units); "
                              "pass --resume to continue it, or choose another --work-dir")

    def remove_stray_temp_files(self) -> None:
        """Delete the temporary files a killed run of the suite left behind, and nothing else.

        Only files named by ``uptflow.utils.io.atomic_path`` (``.<name>.uptflow-tmp-*``) are candidates, only in the
        folders the suite writes (plus its own top-level records): the work dir may hold the user's files. A file
        another process (another shard) is still writing is locked and stays (``remove_if_abandoned``).
        """
        own = [self.work_dir / d for d in SUITE_FOLDERS]
        candidates = [p for d in own if d.is_dir() for p in d.rglob(f"*{TEMP_MARK}*")]
        candidates += [p for p in self.work_dir.glob(f".*{TEMP_MARK}*") if p.name.lstrip(".").startswith(
            SUITE_RECORDS)]
        for p in candidates:
            remove_if_abandoned(p)

    def run(self) -> int:
        """Run every stage; return 0 when nothing failed, 1 otherwise (a failed unit or a skipped image)."""
        self.check_resume()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.remove_stray_temp_files()
        t0 = time.perf_counter()
        self.write_run_info(status="running")
        # datasets first: a broken one is reported within seconds, not after the enhancers' training runs
        with self.stage("datasets"):
            self.stage_datasets()
        with self.stage("enhancers"):
            self.stage_enhancers()
        with self.stage("enhance"):
            self.stage_enhance()
        with self.stage("tasks"):
            self.stage_tasks()
        with self.stage("tables"):
            self.stage_tables()
        self.timings["total"] = round(time.perf_counter() - t0, 2)
        self.write_run_info(status="finished")
        self.summary()
        return 1 if self.failures or self.bad_images else 0

    def merge(self, sources: list[str]) -> int:
        """Build the tables and report from shard results only (``--merge``): this work dir or ``sources``."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.stage("enhancers"):
            self.stage_enhancers(train=False)
        with self.stage("datasets"):
            self.stage_datasets()
        with self.stage("tables"):
            n = self.stage_tables(merge=sources or [str(self.work_dir)])
        if not n:
            raise ValueError(f"--merge: no results of this config found in {', '.join(sources or [str(self.work_dir)])}"
                             " (expected results/shard-*.csv written by the shards, run with the same config, "
                             "--limit and --cfg-options; the log says what was left out)")
        return 1 if self.failures or self.bad_images else 0

    def write_run_info(self, status: str) -> None:
        """Record versions, git commit, config, seeds, shard, weights checksums and timings."""
        info = dict(status=status, suite=self.cfg["suite"], config_file=self.cfg.source, config=self.cfg.cfg,
                    data_root=str(self.cfg.data_root), work_dir=str(self.work_dir),
                    cache_dir=str(self.cfg.cache_dir) if self.cfg.cache_dir else None, seed=self.cfg["seed"],
                    device=self.cfg["device"], shard=dict(index=self.shard.index, count=self.shard.count),
                    only=self.only, enhancer_labels=self.enhancer_labels, argv=sys.argv, versions=versions(),
                    git=git_commit(), enhancers=[e.record() for e in self.enhancers], timings=self.timings,
                    counts=self.counts, skipped=self.skipped, failures=self.failures, bad_images=self.bad_images)
        self._write_json("run_info", info)
        self._write_json("skipped", self.skipped)
        self._write_json("failures", self.failures + [dict(unit=f"image {b['file']} ({b['where']})",
                                                          error=b["reason"]) for b in self.bad_images])

    def summary(self) -> None:
        """Print what ran, what was skipped (with where to put the data) and what failed."""
        self.log("== summary")
        for name, secs in self.timings.items():
            self.log(f"  {name:<10} {secs:8.1f} s")
        self.log("  " + ", ".join(f"{k}: {v}" for k, v in self.counts.items()))
        for s in self.skipped:
            self.log(f"  skipped {s['what']}: {s['reason']}")
        for b in self.bad_images:
            self.log(f"  SKIPPED image {b['file']} ({b['where']}): {b['reason']}")
        for f in self.failures:
            self.log(f"  FAILED {f['unit']}: {f['error']}")
        self.log(f"  outputs: {self.work_dir}")

    # ------------------------------------------------------------------ (1) enhancers
    def stage_enhancers(self, train: bool = True) -> None:
        """Build every enhancer some task uses: the selected ones load their weights or train per config (once,
        resumable); the others are built without training, only to keep their finished units in the tables."""
        from uptflow.enhancers import build_enhancer

        self.enhancers, self._units = [], None
        used, run = self._labels_used(self.cfg["tasks"]), self._labels_used()
        for i, e in enumerate(self.cfg["enhancers"]):
            if e["label"] not in used:
                continue  # no task runs it on any dataset: nothing to build (or train) it for
            selected = e["label"] in run and (self.enhancer_labels is None or e["label"] in self.enhancer_labels)
            weights, building = e["weights"], False
            try:
                if weights is not None and not Path(weights).is_file():
                    if selected:
                        self.skip("enhancer", e["label"], f"put its weights at {weights}")
                    continue
                if e["train"] is not None:
                    weights = self._trained_weights(e) if train and selected else self._trained_weights_if_done(e)
                    if weights is None:
                        if selected:
                            self.skip("enhancer", e["label"], "not trained yet (run the suite to train it)")
                        continue
                building = True
                cache = build_enhancer(e["name"], weights=weights, device=self.cfg["device"],
                                       cache_dir=self.cfg.cache_dir, cache=True, **e["params"])
            except Exception as err:  # noqa: BLE001 - one broken enhancer must not stop the others
                if selected and building and isinstance(err, (ValueError, TypeError)):
                    # a setting it refuses: a config error, before any image is enhanced or scored
                    raise ConfigError(f"enhancers[{i}] ({e['label']}): {err}") from None
                if selected:
                    self.fail(f"enhancer/{e['label']}", err)
                else:
                    self.log(f"enhancer {e['label']}: not run and not buildable, its results left out ({err})")
                continue
            self.enhancers.append(ReadyEnhancer(e["label"], e["name"], cache, selected))
            self.log(f"enhancer {e['label']}: {e['name']} {cache.key}" + (f" weights {weights}" if weights else "")
                     + ("" if selected else " (not run: its finished results only)"))

    def _task_datasets(self, task: str) -> list[str]:
        bench = self.cfg.benchmarks[task]
        return list(dict.fromkeys(ref for _, ref, _ in type(bench).dataset_refs(self.cfg["tasks"][task])))

    def _allowed(self, task: str, dataset: str, label: str) -> bool:
        by_task = self.cfg["tasks"][task].get("enhancers")
        by_data = self.cfg["datasets"][dataset].get("enhancers")
        return (by_task is None or label in by_task) and (by_data is None or label in by_data)

    def _combinations(self, tasks: Collection[str] | None = None) -> set[tuple[str, str, str]]:
        """``(task, dataset, enhancer label)`` of every unit the config has for ``tasks`` (default: the selected)."""
        return {(task, name, e["label"]) for task in (self.only if tasks is None else tasks)
                for name in self._task_datasets(task) for e in self.cfg["enhancers"]
                if self._allowed(task, name, e["label"])}

    def _labels_used(self, tasks: Collection[str] | None = None) -> set[str]:
        """Labels of the enhancers some of ``tasks`` (default: the selected ones) runs on some of its datasets."""
        return {label for _, _, label in self._combinations(tasks)}

    def _train_unit(self, e: dict[str, Any]) -> str:
        from uptflow.utils.mmconfig import load_config

        # the resolved config, not only its path: editing the config file (or a base of it) in place retrains
        resolved = load_config(e["train"]["config"]).to_dict()
        return f"train/{e['label']}/{digest([e['name'], e['params'], e['train'], resolved, self.cfg['seed']], 10)}"

    def _trained_weights_if_done(self, e: dict[str, Any], unit: str | None = None) -> str | None:
        done = self.store.load(unit or self._train_unit(e))
        return done["weights"] if done and Path(done["weights"]).is_file() else None

    def _trained_weights(self, e: dict[str, Any]) -> str:
        from uptflow.engine.train import train
        from uptflow.utils.io import file_sha256

        unit = self._train_unit(e)  # reads the config: once, not at every poll below
        done = self._trained_weights_if_done(e, unit)
        if done is not None:
            self.counts["reused"] += 1
            return done
        if self.shard.index != 0:
            # one shard trains, the others wait for its marker (shared work dir) instead of training copies
            self.log(f"{unit}: waiting for shard 0 to train it")
            t0 = time.time()
            while (done := self._trained_weights_if_done(e, unit)) is None:
                if time.time() - t0 > _TRAIN_WAIT_S:
                    raise TimeoutError(f"{unit}: shard 0 did not finish training within {_TRAIN_WAIT_S} s")
                time.sleep(10)
            return done
        out = self.work_dir / unit  # a folder per identity: a changed config never resumes another's checkpoints
        self.log(f"{unit}: training with {e['train']['config']} -> {out}")
        weights = train(e["train"]["config"], out, cfg_options={"randomness.seed": self.cfg["seed"],
                                                                 **(e["train"]["options"] or {})},
                        amp=self.cfg["device"] != "cpu", device=self.cfg["device"])
        self.store.mark_done(unit, dict(kind="train", weights=str(weights), weights_sha256=file_sha256(weights)))
        self.counts["trained"] += 1
        return str(weights)

    # ------------------------------------------------------------------ (2) datasets + enhance-once cache
    def _needed_datasets(self, tasks: Collection[str] | None = None) -> dict[str, list[str]]:
        """dataset name -> the tasks among ``tasks`` (default: the selected ones) that read it."""
        need: dict[str, list[str]] = {}
        for task in self.only if tasks is None else tasks:
            for name in self._task_datasets(task):
                need.setdefault(name, []).append(task)
        return need

    def stage_datasets(self) -> None:
        """Read every dataset of the config once; absent optional ones are skipped with where they go.

        The datasets of tasks left out by ``--only`` are read too when some of their units were scored before
        (nothing is enhanced or scored on them): the units' identities need the data, so the tables keep those
        tasks' current results and drop stale ones.
        """
        self.datasets, self._units = {}, None
        scored = {(m.get("task"), m.get("dataset")) for m in self.store.all() if m.get("kind") == "score"}
        for name, tasks in self._needed_datasets(self.cfg["tasks"]).items():
            if not any(t in self.only or (t, name) in scored for t in tasks):
                continue
            d, reader = self.cfg["datasets"][name], self.cfg.readers[name]
            if not reader.present():
                self.skip("dataset", d["title"], f"put the dataset at {reader.root} ({reader.layout})")
                continue
            try:
                ds = reader.read(seed=self.cfg["seed"], data_dir=self.work_dir / "data" / name)
            except Exception as err:  # noqa: BLE001 - a broken dataset is reported, the others go on
                self.fail(f"dataset/{name}", err)
                continue
            for b in ds.unread:
                self.bad_image(f"dataset {name}", b["file"], b["reason"])
            self.datasets[name] = ds
            self.log(f"dataset {name}: {len(ds)} images; used by {', '.join(tasks)}")

    def _unit_enhancers(self, task: str, dataset: str) -> list[ReadyEnhancer]:
        """Enhancers run by ``task`` on ``dataset`` (both may restrict them with ``enhancers=[labels]``)."""
        return [e for e in self.enhancers if self._allowed(task, dataset, e.label)]

    def _dataset_enhancers(self, dataset: str, everything: bool = False) -> list[ReadyEnhancer]:
        """Enhancers this invocation runs on ``dataset`` (selected ones, by selected tasks); with ``everything``, all
        built enhancers any task of the config runs on it."""
        tasks = self.cfg["tasks"] if everything else None
        users = {e.label for t in self._needed_datasets(tasks).get(dataset, ())
                 for e in self._unit_enhancers(t, dataset) if everything or e.selected}
        return [e for e in self.enhancers if e.label in users]

    def stage_enhance(self) -> None:
        """Enhance this shard's share of every dataset's images into the cache (already cached ones are skipped)."""
        from tqdm import tqdm

        for name, ds in self.datasets.items():
            enhancers = self._dataset_enhancers(name)
            if not enhancers:
                continue
            for s, img in tqdm(ds.images(), total=len(ds), desc=f"enhance {name}", unit="img",
                               disable=not self.progress):
                if isinstance(img, Exception):
                    self.bad_image(f"dataset {name}", _input_file(s), str(img))
                    continue
                for enh in enhancers:
                    if not self.shard.owns(f"enhance/{enh.key}/{name}/{s.name}"):
                        continue
                    try:
                        if enh.cache.path_for(img).is_file():
                            self.counts["cached"] += 1
                            continue
                        enh.cache(img)
                        self.counts["enhanced"] += 1
                    except Exception as err:  # noqa: BLE001 - one failing image is reported, the rest go on
                        self.fail(f"enhance/{enh.label}/{name}/{s.name}", err)

    # ------------------------------------------------------------------ (3) task benchmarks
    def units(self) -> list[Unit]:
        """Every scoring unit of the config whose dataset is read (all tasks and enhancers, not only selected)."""
        if self._units is not None:
            return self._units
        out = []
        for task, bench in self.cfg.benchmarks.items():
            for name in self._task_datasets(task):
                if name not in self.datasets:
                    continue
                for enh in self._unit_enhancers(task, name):
                    ident = unit_identity(bench, self.datasets[name], enh.cache)
                    d = digest(ident)
                    out.append(Unit(f"score/{task}/{name}/{enh.label}/{d}", task, name, enh, ident,
                                    self.work_dir / "units" / task / name / f"{enh.label}-{d}"))
        self._units = out
        return out

    def _rows(self, unit: Unit, result: Any) -> list[dict[str, Any]]:
        d, reader = self.cfg["datasets"][unit.dataset], self.cfg.readers[unit.dataset]
        degrade = reader.degrade
        level = degrade.get("level") if isinstance(degrade, dict) else ("random" if degrade else "")
        label = result.row_label(unit.enhancer.label)
        return [row(label, d["title"], unit.task, r["metric"], r["value"], cls=r.get("cls", ""), level=level,
                    split=self._split_label(unit.dataset), protocol=result.protocol, n=r.get("n", result.n),
                    skipped=len(result.skipped), unit=unit.id) for r in result.rows]

    def stage_tasks(self) -> None:
        """Score this shard's units that are not done yet; a failing unit is reported and the rest go on."""
        for unit in self.units():
            if unit.task not in self.only or not unit.enhancer.selected or not self.shard.owns(unit.id):
                continue
            done = self.store.load(unit.id)
            if done is not None:
                self.counts["reused"] += 1
                self.unit_skipped(unit, done.get("skipped_images", []))
                continue
            self.log(f"{unit.id}: running")
            try:
                result = self.cfg.benchmarks[unit.task].run(self.datasets[unit.dataset], unit.enhancer.cache,
                                                            unit.out_dir, progress=self.progress)
            except ImportError as err:
                self.skip("task", f"{unit.task} on {unit.dataset} ({unit.enhancer.label})",
                          f"{err} (pip install -e '.[mm]' and `uptflow setup-mm`)")
                continue
            except Exception as err:  # noqa: BLE001 - one failing unit is reported, the rest go on
                self.fail(unit.id, err)
                continue
            self.unit_skipped(unit, result.skipped)
            self.store.mark_done(unit.id, dict(kind="score", task=unit.task, dataset=unit.dataset,
                                               enhancer=unit.enhancer.label, identity=unit.identity,
                                               out_dir=str(unit.out_dir), rows=self._rows(unit, result),
                                               skipped_images=result.skipped))
            self.counts["scored"] += 1

    # ------------------------------------------------------------------ (4) tables + report
    def stage_tables(self, merge: list[str] | None = None) -> int:
        """Write this shard's results; when every shard's results are in (or with ``merge``) build the tables.

        Returns:
            The number of result rows tabulated.
        """
        from evaluation.tables.html import write_report
        from evaluation.tables.report import build_tables, write_tables

        results_dir = self.work_dir / "results"
        if not merge:
            own = {u.id for u in self.units() if self.shard.owns(u.id)}
            write_shard_results(self.store, results_dir, self.shard, own)
        if not merge and not shard_files_complete(results_dir, self.shard):
            # tables of an earlier build would sit beside results they do not hold, unmarked
            if (self.work_dir / "tables").is_dir():
                _replace_tables([], self.work_dir / "tables")
            (self.work_dir / "report" / "index.html").unlink(missing_ok=True)
            self.log(f"tables: waiting for the other shards' results in {results_dir}; the last shard to finish "
                     "builds the tables and report (earlier ones removed until then), or run with --merge")
            return 0
        df = self._current_rows(read_results(merge or [results_dir]))
        if df.empty:
            self.log("tables: no current results; the tables and report are left as they are")
            return 0
        # a row this run could not check (kept unverified) may be another build's: its enhancer's identity now is
        # not necessarily the one that made it, so those enhancers get no checksum in the notes
        current = {u.id for u in self.units()}
        unchecked = {key[2] for u in df.loc[~df["unit"].isin(current), "unit"] if (key := _unit_key(u))}
        tables = build_tables(df, self.cfg, {e.label: e.record() for e in self.enhancers if e.label not in unchecked})
        _replace_tables(write_tables(tables, self.work_dir / "tables"), self.work_dir / "tables")
        for t in tables:
            self.log(f"table {t.name}: {len(t.frame)} rows -> "
                     f"{self.work_dir / 'tables' / t.name}.{{csv,long.csv,md,tex}}")
        if self.cfg["report"]["html"]:
            info = dict(suite=self.cfg["suite"], versions=versions(), git=git_commit(), seed=self.cfg["seed"],
                        enhancers=[e.record() for e in self.enhancers])
            # the previous page goes first: a report that fails to build must not leave one beside the new tables
            (self.work_dir / "report" / "index.html").unlink(missing_ok=True)
            try:
                page = write_report(self.work_dir / "report", tables, grids=self.image_grids(set(df["dataset"])),
                                    skipped=self.skipped, failures=self.failures, bad_images=self.bad_images,
                                    run_info=info, grid_max_side=self.cfg["report"]["grid_max_side"])
                self.log(f"report: {page}")
            except Exception as err:  # noqa: BLE001 - the tables are written; the failure is reported
                self.fail("report", err)
        return len(df)

    def _split_label(self, dataset: str) -> str:
        """The split a dataset's rows name: the reader's split ('all' without one) and its limit, if any."""
        reader = self.cfg.readers[dataset]
        return (reader.split or "all") + (f", first {reader.limit}" if reader.limit else "")

    def _current_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        """The rows of the current config's units, under their datasets' current titles and split labels.

        Result files can hold rows of other runs: another sharding of the work dir, shards run with other settings,
        weights or data. A row is left out when this run computed its unit's (task, dataset, enhancer) under another
        id, or when the config no longer has that combination. Rows this run cannot check (a dataset absent here, an
        enhancer it could not build, e.g. trained in another work dir) are kept and reported as unverified.
        """
        current = {u.id for u in self.units()}
        checked = {(u.task, u.dataset, u.enhancer.label) for u in self.units()}
        configured = self._combinations(self.cfg["tasks"])
        key = df["unit"].map(_unit_key)
        known = df["unit"].isin(current)
        stale = ~known & key.map(lambda k: k in checked or k not in configured)
        unverified = ~known & ~stale
        if stale.any():
            units = sorted(set(df.loc[stale, "unit"]))
            self.log(f"tables: left out {int(stale.sum())} rows of {len(units)} units that are not current for this "
                     f"config (other settings, weights or data), e.g. {units[0]}")
        if unverified.any():
            units = sorted(set(df.loc[unverified, "unit"]))
            self.skip("results", f"{len(units)} units", "kept unverified: their dataset or enhancer is not available "
                      f"to this run, so it cannot check they are current (e.g. {units[0]})")
        df, key = df.loc[~stale].copy(), key[~stale]
        # titles are labels, not identity: a renamed dataset keeps its rows (the split label is the identity's)
        df["dataset"] = key.map(lambda k: self.cfg["datasets"][k[1]]["title"])
        df["split"] = key.map(lambda k: self._split_label(k[1]))
        return df

    def image_grids(self, titles: Collection[str]) -> list[dict[str, Any]]:
        """Side-by-side samples of the datasets titled ``titles`` (those in the tables): input (+ reference) and every
        enhancer's output from the cache; outputs of tasks left out by ``--only`` are shown only if already cached."""
        from evaluation.enhancement.benchmark import read_reference

        k = self.cfg["report"]["grid_images"]
        grids = []
        for name, ds in self.datasets.items():
            enhancers = self._dataset_enhancers(name, everything=True)
            selected = {e.label for e in self._dataset_enhancers(name)}
            if k <= 0 or not enhancers or self.cfg["datasets"][name]["title"] not in titles:
                continue
            samples = []
            for s, img in ds.images():
                if len(samples) >= k:
                    break
                if isinstance(img, Exception):
                    continue
                try:
                    ref = read_reference(s, img)
                except (OSError, ValueError):
                    continue  # the enhancement units left this pair out and reported it; the grid passes it over
                try:
                    source = ds.read(s) if ds.degrade is not None and s.path is not None else None
                    samples.append(dict(name=s.name, source=source, input=img, gt=ref,
                                        outputs={e.label: e.cache(img) if e.label in selected else e.cache.cached(img)
                                                 for e in enhancers if e.name != "identity"}))
                except Exception as err:  # noqa: BLE001 - a broken sample only loses its grid row
                    self.fail(f"report/{name}/{s.name}", err)
            if samples:
                grids.append(dict(dataset=self.cfg["datasets"][name]["title"], samples=samples))
        return grids
