"""The suite's stages: (1) enhancers, (2) datasets and the enhance-once cache, (3) task benchmarks, (4) tables.

Work is cut into units (train one enhancer; score one enhancer on one dataset for one task). A unit is done
exactly when its marker exists in ``<work_dir>/state`` (see :mod:`evaluation.suite.state`), and enhanced images
live in a content-addressed cache, so a run killed at any point continues where it stopped. A failing image or
unit is recorded in ``failures-<shard>.json`` and printed at the end; the rest of the suite goes on. Each
shard (``--shard i/N``) does its share of images and units; results merge in the tables stage.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.suite import tasks as task_api
from evaluation.suite.config import DATASET_TYPES, TASKS, SuiteConfig, dataset_present
from evaluation.suite.results import read_results, shard_files_complete, write_shard_results
from evaluation.suite.runinfo import git_commit, versions
from evaluation.suite.shard import Shard
from evaluation.suite.state import StateStore
from uptflow.utils.io import TEMP_MARK, atomic_write_json, is_temp_file

__all__ = ["ResumeError", "ReadyEnhancer", "ReadyDataset", "Suite"]

# the folders under the work dir that the suite creates and writes, and the stems of its top-level records
SUITE_FOLDERS = ("state", "results", "units", "tables", "report", "logs", "data", "train")
SUITE_RECORDS = ("run_info-", "skipped-", "failures-")
# how long shards other than 0 wait for shard 0 to finish training an enhancer
_TRAIN_WAIT_S = 6 * 3600


class ResumeError(RuntimeError):
    """The work dir already holds this shard's run and --resume was not given."""


@dataclass
class ReadyEnhancer:
    """An enhancer built and wrapped in the shared enhanced-image cache."""

    label: str
    name: str
    enhancer: Any
    cache: Any
    weights: str | None
    weights_sha256: str | None

    @property
    def key(self) -> str:
        """Cache key: name + params + weights checksum."""
        return self.cache.key

    def record(self) -> dict[str, Any]:
        """JSON-friendly description for run_info and protocol lines."""
        params = self.enhancer.params() if hasattr(self.enhancer, "params") else {}
        return dict(label=self.label, name=self.name, params=params, weights=self.weights,
                    weights_sha256=self.weights_sha256, cache=str(self.cache.dir))


@dataclass
class ReadyDataset:
    """A present dataset: the image files to enhance up front and what its task benchmark reads."""

    name: str
    cfg: dict[str, Any]
    inputs: list[Path] = field(default_factory=list)
    payload: Any = None
    loader: Callable[[Path], Any] | None = None


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:10]


class Suite:
    """One invocation of the suite on one shard.

    Args:
        cfg: validated config.
        shard: this process's shard.
        only: tasks to run (subset of TASKS); None for all configured tasks.
        enhancer_labels: enhancers to run (labels); None for all.
        resume: continue a run found in the work dir instead of refusing to touch it.
        progress: show tqdm bars.
    """

    def __init__(self, cfg: SuiteConfig, shard: Shard | None = None, only: list[str] | None = None,
                 enhancer_labels: list[str] | None = None, resume: bool = False, progress: bool = True) -> None:
        self.cfg = cfg
        self.shard = shard or Shard()
        self.only = [t for t in TASKS if t in cfg["tasks"] and (only is None or t in only)]
        self.enhancer_labels = enhancer_labels
        self.resume = resume
        self.progress = progress
        self.work_dir = cfg.work_dir
        self.store = StateStore(self.work_dir / "state")
        self.skipped: list[dict[str, str]] = []
        self.failures: list[dict[str, str]] = []
        self.timings: dict[str, float] = {}
        self.counts = dict(trained=0, enhanced=0, cached=0, scored=0, reused=0)
        self.enhancers: list[ReadyEnhancer] = []
        self.datasets: dict[str, ReadyDataset] = {}
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
        tb = "".join(traceback.format_exception_only(type(err), err)).strip()
        self.failures.append(dict(unit=unit, error=tb))
        self.log(f"FAILED {unit}: {tb}")

    def _write_json(self, stem: str, obj: Any) -> None:
        atomic_write_json(self.work_dir / f"{stem}-{self.shard.tag}.json", obj)

    # ------------------------------------------------------------------ run
    def check_resume(self) -> None:
        """Refuse to continue an earlier run of this shard in the work dir unless --resume was given."""
        marker = self.work_dir / f"run_info-{self.shard.tag}.json"
        if marker.is_file() and not self.resume:
            n = len(self.store.all())
            raise ResumeError(f"{self.work_dir} already holds a run of this suite ({n} finished units); "
                              "pass --resume to continue it, or choose another --work-dir")

    def remove_stray_temp_files(self) -> None:
        """Delete the temporary files a killed run of the suite left behind, and nothing else.

        Only files named by ``uptflow.utils.io.atomic_path`` (``.<name>.uptflow-tmp-*``) are removed, and only in
        the folders the suite writes (plus its own top-level records): the work dir may hold the user's files.
        Only a single-shard run does this: with several shards in one work dir, another shard's temporary file
        may be in the middle of being written.
        """
        if self.shard.count != 1:
            return
        own = [self.work_dir / d for d in SUITE_FOLDERS]
        candidates = [p for d in own if d.is_dir() for p in d.rglob(f"*{TEMP_MARK}*")]
        candidates += [p for p in self.work_dir.glob(f".*{TEMP_MARK}*") if p.name.lstrip(".").startswith(
            SUITE_RECORDS)]
        for p in candidates:
            if p.is_file() and not p.is_symlink() and is_temp_file(p):
                p.unlink(missing_ok=True)

    def run(self) -> int:
        """Run every stage; return 0 when nothing failed, 1 otherwise."""
        self.check_resume()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.remove_stray_temp_files()
        t0 = time.perf_counter()
        self.write_run_info(status="running")
        with self.stage("enhancers"):
            self.stage_enhancers()
        with self.stage("datasets"):
            self.stage_datasets()
        with self.stage("enhance"):
            self.stage_enhance()
        with self.stage("tasks"):
            self.stage_tasks()
        with self.stage("tables"):
            self.stage_tables()
        self.timings["total"] = round(time.perf_counter() - t0, 2)
        self.write_run_info(status="finished")
        self.summary()
        return 1 if self.failures else 0

    def merge(self, sources: list[str]) -> int:
        """Build the tables and report from shard results only (``--merge``): this work dir or ``sources``."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.stage("enhancers"):
            self.stage_enhancers(train=False)
        with self.stage("datasets"):
            self.stage_datasets()
        with self.stage("tables"):
            self.stage_tables(merge=sources or [str(self.work_dir)])
        return 0

    def write_run_info(self, status: str) -> None:
        """Record versions, git commit, config, seeds, shard, weights checksums and timings."""
        info = dict(status=status, suite=self.cfg["suite"], config_file=self.cfg.source, config=self.cfg.cfg,
                    data_root=str(self.cfg.data_root), work_dir=str(self.work_dir),
                    cache_dir=str(self.cfg.cache_dir) if self.cfg.cache_dir else None, seed=self.cfg["seed"],
                    device=self.cfg["device"], shard=dict(index=self.shard.index, count=self.shard.count),
                    only=self.only, enhancer_labels=self.enhancer_labels, argv=sys.argv, versions=versions(),
                    git=git_commit(), enhancers=[e.record() for e in self.enhancers], timings=self.timings,
                    counts=self.counts, skipped=self.skipped, failures=self.failures)
        self._write_json("run_info", info)
        self._write_json("skipped", self.skipped)
        self._write_json("failures", self.failures)

    def summary(self) -> None:
        """Print what ran, what was skipped (with where to put the data) and what failed."""
        self.log("== summary")
        for name, secs in self.timings.items():
            self.log(f"  {name:<10} {secs:8.1f} s")
        self.log("  " + ", ".join(f"{k}: {v}" for k, v in self.counts.items()))
        for s in self.skipped:
            self.log(f"  skipped {s['what']}: {s['reason']}")
        for f in self.failures:
            self.log(f"  FAILED {f['unit']}: {f['error']}")
        self.log(f"  outputs: {self.work_dir}")

    # ------------------------------------------------------------------ (1) enhancers
    def stage_enhancers(self, train: bool = True) -> None:
        """Build every selected enhancer: load weights, or train per config (once, resumable)."""
        from uptflow.enhancers import build_enhancer
        from uptflow.plugins.cache import EnhancedImageCache, file_sha256

        self.enhancers = []
        used = self._labels_used()
        for e in self.cfg["enhancers"]:
            if self.enhancer_labels is not None and e["label"] not in self.enhancer_labels:
                continue
            if e["label"] not in used:
                continue  # no selected task runs it on any dataset: do not build (or train) it
            weights = e["weights"]
            try:
                if weights is not None and not Path(weights).is_file():
                    self.skip("enhancer", e["label"], f"put its weights at {weights}")
                    continue
                if e["train"] is not None:
                    weights = self._trained_weights(e) if train else self._trained_weights_if_done(e)
                    if weights is None:
                        self.skip("enhancer", e["label"], "not trained yet (run the suite to train it)")
                        continue
                kw = dict(e["params"])
                enh = build_enhancer(e["name"], weights=weights, device=self.cfg["device"], **kw)
                sha = file_sha256(weights) if weights else None
                cache = EnhancedImageCache(enh, root=self.cfg.cache_dir, weights=weights)
            except Exception as err:  # noqa: BLE001 - one broken enhancer must not stop the others
                self.fail(f"enhancer/{e['label']}", err)
                continue
            self.enhancers.append(ReadyEnhancer(e["label"], e["name"], enh, cache, weights, sha))
            self.log(f"enhancer {e['label']}: {e['name']} {cache.key}" + (f" weights {weights}" if weights else ""))

    def _labels_used(self) -> set[str]:
        """Labels of the enhancers some selected task runs on some of its datasets (per the config)."""
        used: set[str] = set()
        for task in self.only:
            by_task = self.cfg["tasks"][task].get("enhancers")
            for name in task_api.task_datasets(task, self.cfg["tasks"][task]):
                by_data = self.cfg["datasets"][name].get("enhancers")
                used |= {e["label"] for e in self.cfg["enhancers"]
                         if (by_task is None or e["label"] in by_task) and (by_data is None or e["label"] in by_data)}
        return used

    def _train_unit(self, e: dict[str, Any]) -> str:
        return f"train/{e['label']}/{_digest([e['name'], e['params'], e['train'], self.cfg['seed']])}"

    def _trained_weights_if_done(self, e: dict[str, Any]) -> str | None:
        done = self.store.load(self._train_unit(e))
        return done["weights"] if done and Path(done["weights"]).is_file() else None

    def _trained_weights(self, e: dict[str, Any]) -> str:
        unit = self._train_unit(e)
        done = self._trained_weights_if_done(e)
        if done is not None:
            self.counts["reused"] += 1
            return done
        if self.shard.index != 0:
            # one shard trains, the others wait for its marker (shared work dir) instead of training copies
            self.log(f"{unit}: waiting for shard 0 to train it")
            t0 = time.time()
            while (done := self._trained_weights_if_done(e)) is None:
                if time.time() - t0 > _TRAIN_WAIT_S:
                    raise TimeoutError(f"{unit}: shard 0 did not finish training within {_TRAIN_WAIT_S} s")
                time.sleep(10)
            return done
        out = self.work_dir / "train" / e["label"]
        self.log(f"{unit}: training with {e['train']['config']} -> {out}")
        weights = task_api.train_enhancer(e["train"]["config"], out, options=e["train"]["options"],
                                          seed=self.cfg["seed"], device=self.cfg["device"])
        from uptflow.plugins.cache import file_sha256

        self.store.mark_done(unit, dict(kind="train", weights=str(weights), weights_sha256=file_sha256(weights)))
        self.counts["trained"] += 1
        return str(weights)

    # ------------------------------------------------------------------ (2) datasets + enhance-once cache
    def _needed_datasets(self) -> dict[str, list[str]]:
        """dataset name -> tasks that read it (for the selected tasks)."""
        need: dict[str, list[str]] = {}
        for task in self.only:
            for name in task_api.task_datasets(task, self.cfg["tasks"][task]):
                need.setdefault(name, []).append(task)
        return need

    def stage_datasets(self) -> None:
        """Open every dataset the selected tasks need; absent optional ones are skipped with where they go."""
        self.datasets = {}
        for name, tasks in self._needed_datasets().items():
            d = self.cfg["datasets"][name]
            if not dataset_present(d):
                self.skip("dataset", d["title"], f"put the dataset at {d['root']} ({DATASET_TYPES[d['type']]})")
                continue
            try:
                inputs, payload, loader = task_api.open_dataset(d, self.work_dir / "data" / name,
                                                                seed=self.cfg["seed"])
            except Exception as err:  # noqa: BLE001 - a broken dataset is reported, the others go on
                self.fail(f"dataset/{name}", err)
                continue
            self.datasets[name] = ReadyDataset(name, d, inputs, payload, loader)
            self.log(f"dataset {name}: {len(inputs)} images to enhance; used by {', '.join(tasks)}")

    def _unit_enhancers(self, task: str, dataset: str) -> list[ReadyEnhancer]:
        """Enhancers run by ``task`` on ``dataset`` (both may restrict them with ``enhancers=[labels]``)."""
        by_task = self.cfg["tasks"][task].get("enhancers")
        by_data = self.cfg["datasets"][dataset].get("enhancers")
        return [e for e in self.enhancers
                if (by_task is None or e.label in by_task) and (by_data is None or e.label in by_data)]

    def _dataset_enhancers(self, dataset: str) -> list[ReadyEnhancer]:
        """Enhancers any selected task runs on ``dataset``."""
        users = {e.label for t in self._needed_datasets().get(dataset, ()) for e in self._unit_enhancers(t, dataset)}
        return [e for e in self.enhancers if e.label in users]

    def stage_enhance(self) -> None:
        """Enhance this shard's share of every dataset's images into the cache (already cached ones are skipped)."""
        from tqdm import tqdm

        jobs: list[tuple[ReadyEnhancer, str, Path]] = []
        for name, ds in self.datasets.items():
            for enh in self._dataset_enhancers(name):
                jobs += [(enh, name, p) for p in ds.inputs if self.shard.owns(f"enhance/{enh.key}/{name}/{p}")]
        for enh, name, path in tqdm(jobs, desc="enhance", unit="img", disable=not self.progress):
            try:
                img = self.datasets[name].loader(path)
                if enh.cache.path_for(img).is_file():
                    self.counts["cached"] += 1
                    continue
                enh.cache(img)
                self.counts["enhanced"] += 1
            except Exception as err:  # noqa: BLE001 - one failing image is reported, the rest go on
                self.fail(f"enhance/{enh.label}/{name}/{path.name}", err)

    # ------------------------------------------------------------------ (3) task benchmarks
    def units(self) -> list[tuple[str, str, str, ReadyEnhancer]]:
        """Every scoring unit of the config (all tasks and enhancers, not only the selected ones on this run)."""
        out = []
        for task in TASKS:
            tcfg = self.cfg["tasks"].get(task)
            if tcfg is None:
                continue
            for name in task_api.task_datasets(task, tcfg):
                if name not in self.datasets:
                    continue
                # only settings that change the numbers; restricting the enhancer lists must not redo other units
                settings = [{k: v for k, v in c.items() if k != "enhancers"}
                            for c in (tcfg, self.cfg["datasets"][name])]
                ident = _digest([*settings, self.cfg["seed"]])
                for enh in self._unit_enhancers(task, name):
                    out.append((f"score/{task}/{name}/{enh.label}/{enh.key}-{ident}", task, name, enh))
        return out

    def stage_tasks(self) -> None:
        """Score this shard's units that are not done yet; a failing unit is reported and the rest go on."""
        for unit, task, name, enh in self.units():
            if task not in self.only or not self.shard.owns(unit):
                continue
            if self.store.is_done(unit):
                self.counts["reused"] += 1
                continue
            self.log(f"{unit}: running")
            try:
                rows = task_api.run_unit(task, enh, self.datasets[name], self.cfg["tasks"][task], self.cfg,
                                         out_dir=self.work_dir / "units" / task / name / enh.label,
                                         progress=self.progress)
            except task_api.TaskUnavailable as err:
                self.skip("task", f"{task} on {name} ({enh.label})", str(err))
                continue
            except Exception as err:  # noqa: BLE001 - one failing unit is reported, the rest go on
                self.fail(unit, err)
                continue
            for r in rows:
                r["unit"] = unit
            self.store.mark_done(unit, dict(kind="score", task=task, dataset=name, enhancer=enh.label, rows=rows))
            self.counts["scored"] += 1

    # ------------------------------------------------------------------ (4) tables + report
    def stage_tables(self, merge: list[str] | None = None) -> None:
        """Write this shard's results; when every shard's results are in (or with ``merge``) build the tables."""
        from evaluation.tables.html import write_report
        from evaluation.tables.report import build_tables, write_tables

        results_dir = self.work_dir / "results"
        if not merge:
            own = {u for u, *_ in self.units() if self.shard.owns(u)}
            write_shard_results(self.store, results_dir, self.shard, own)
        if not merge and not shard_files_complete(results_dir, self.shard):
            self.log(f"tables: waiting for the other shards' results in {results_dir}; the last shard to finish "
                     "builds them, or run with --merge")
            return
        df = read_results(merge or [results_dir])
        tables = build_tables(df, self.cfg)
        written = write_tables(tables, self.work_dir / "tables")
        for t in tables:
            self.log(f"table {t.name}: {len(t.frame)} rows -> {self.work_dir / 'tables' / t.name}.{{csv,md,tex}}")
        if self.cfg["report"]["html"]:
            grids = self.image_grids()
            info = dict(suite=self.cfg["suite"], versions=versions(), git=git_commit(), seed=self.cfg["seed"],
                        enhancers=[e.record() for e in self.enhancers])
            page = write_report(self.work_dir / "report", tables, grids=grids, skipped=self.skipped,
                                failures=self.failures, run_info=info,
                                grid_max_side=self.cfg["report"]["grid_max_side"])
            self.log(f"report: {page}")
        self.tables_written = written

    def image_grids(self) -> list[dict[str, Any]]:
        """Side-by-side samples per dataset: input (+ ground truth) and every enhancer's output, from the cache."""
        k = self.cfg["report"]["grid_images"]
        grids = []
        for name, ds in self.datasets.items():
            if not ds.inputs or k <= 0:
                continue
            samples = []
            for p in ds.inputs[:k]:
                try:
                    samples.append(task_api.grid_sample(p, ds, self._dataset_enhancers(name)))
                except Exception as err:  # noqa: BLE001 - a broken sample only loses its grid row
                    self.fail(f"report/{name}/{Path(p).name}", err)
            if samples:
                grids.append(dict(dataset=ds.cfg["title"], samples=samples))
        return grids
