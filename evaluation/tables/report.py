"""Result tables in the paper's layout (rows enhancers, columns metrics or classes) as CSV, Markdown and LaTeX.

Every table is a ``pandas.pivot_table`` of the long-format result rows (see :mod:`evaluation.suite.results`),
so no number is typed by hand; which tables a task gets is declared by its benchmark
(``Benchmark.table_specs``), and metric order, units and arrows come from the catalogue (``evaluation.metrics``).
Each table carries its protocol line (dataset, split, models, weights, metric conventions) and says how many
images were skipped. Where a dataset is the paper's own test set under the paper's protocol (its ``paper_key``
names a column of the paper's tables and the whole test split was scored without darkening), the paper's reported
numbers of the metrics it computes as we do (PSNR, SSIM, LPIPS) for the methods whose rows are in the table
(UPT-Flow and the baselines we ran) are added as rows marked "(paper)"; otherwise a note says why they are withheld.
The paper's LOE, NIQE and BRISQUE numbers are always withheld: it does not say how it computed them.

Files per table: ``<name>.csv`` (wide; ``#`` protocol lines, then a two-row header: read it with
``pd.read_csv(path, comment="#", header=[0, 1], index_col=0)``), ``<name>.long.csv`` (tidy: one row per
enhancer x dataset x metric (x class), plain ``pd.read_csv(path)``), ``<name>.md`` and ``<name>.tex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.metrics import CATALOGUE
from evaluation.tables.paper_numbers import TEST_SIZES, paper_frame
from uptflow.utils.io import atomic_write_text

__all__ = ["Table", "PAPER_METHODS", "PAPER_METRICS", "UNDISCLOSED_METRICS", "build_tables", "write_tables",
           "flat_columns"]

# our enhancer (registry name) -> its row name in the paper's tables
PAPER_METHODS = {"uptflow": "UPT-Flow", "sci": "SCI", "zero_dce_pp": "ZeroDCE++", "zero_dce": "ZeroDCE"}
# our metric name -> the paper's, for the metrics computed as UPT-Flow's test.py does (spec 6.1)
PAPER_METRICS = {"PSNR": "PSNR", "SSIM": "SSIM", "LPIPS": "LPIPS"}
# metrics the paper reports (Table 3, night traffic) without saying how it computed them: its numbers are withheld
UNDISCLOSED_METRICS = ("LOE", "NIQE", "BRISQUE")
_PAPER_SOURCE = {
    "table1": "Table 1 of Xu et al., Pattern Recognition 158:111076 (2025)",
    "table2": "Table 2 of Xu et al., Pattern Recognition 158:111076 (2025)",
    "table3": "Table 3 of the UPT-Flow preprint (night traffic monitoring)",
}


@dataclass
class Table:
    """One result table: a wide frame (index enhancer) plus its protocol line and notes."""

    name: str
    title: str
    frame: pd.DataFrame
    protocol: str
    notes: list[str] = field(default_factory=list)
    per_class: bool = False
    long: pd.DataFrame = field(default_factory=pd.DataFrame)
    # dataset title -> (series title, darkness level) for datasets expanded from degrade=dict(levels=[...])
    levels: dict[str, tuple[str, int]] = field(default_factory=dict)


def _order(values: list[str], preferred: list[str]) -> list[str]:
    return [v for v in preferred if v in values] + [v for v in values if v not in preferred]


def _protocol_line(sub: pd.DataFrame) -> str:
    """``dataset (split, n images), ...: protocol`` with datasets sharing a protocol listed together."""
    by_protocol: dict[str, list[str]] = {}
    for (ds, split, proto), g in sub.groupby(["dataset", "split", "protocol"], sort=False):
        low, high = int(g["n"].min()), int(g["n"].max())  # metrics may score fewer images (e.g. no reference)
        by_protocol.setdefault(proto or "see the unit outputs", []).append(
            f"{ds} (split {split or 'all'}, {low if low == high else f'{low}-{high}'} images)")
    return " | ".join(f"{', '.join(dict.fromkeys(names))}: {proto}" for proto, names in by_protocol.items())


def _pivot(sub: pd.DataFrame, columns: list[str], enhancers: list[str],
           col_order: dict[str, list[str]]) -> pd.DataFrame:
    wide = sub.pivot_table(index="enhancer", columns=columns, values="value", aggfunc="first", sort=False)
    wide = wide.reindex(_order(list(wide.index), enhancers))
    if isinstance(wide.columns, pd.MultiIndex):
        levels = [_order(list(dict.fromkeys(wide.columns.get_level_values(i))), col_order.get(c, []))
                  for i, c in enumerate(columns)]
        cols = [c for c in pd.MultiIndex.from_product(levels) if c in wide.columns]
        wide = wide[cols]
    else:
        wide = wide[_order(list(wide.columns), col_order.get(columns[0], []))]
    wide.columns.names = [c.capitalize() for c in columns]
    wide.index.name = "Enhancer"
    return wide


def _dataset_mismatch(d: dict[str, Any], key: str, n: int, skipped: int) -> str:
    """Why the numbers of dataset entry ``d`` are not on the paper's test set of column ``key`` ("" when they are)."""
    if d.get("degrade"):
        return "inputs darkened synthetically"
    size, limit = TEST_SIZES.get(key), d.get("limit")
    if size is None:
        # without the paper's count, a limit the reader reached may have cut the split
        return f"limited to {limit} images" if limit is not None and n + skipped >= limit else ""
    if n == size:
        return ""
    if limit is not None and limit < size:
        return f"limited to {limit} of {size} images"
    return f"{n} of the paper's {size} test images scored"


def _run_with(e: dict[str, Any], identity: Mapping[str, Any] | None = None) -> str:
    """What an enhancer row ran with: its weights (with their checksum where ``identity``, the enhancer's
    ``describe()``, is known) and its settings: all of them as the enhancer resolved them (``precision=auto`` ->
    ``bf16``) where the identity is known, else the config's."""
    if e.get("train"):
        weights = f"weights trained by this suite ({Path(e['train']['config']).name})"
    elif e.get("weights"):
        weights = f"weights {Path(e['weights']).name}"
    elif e["name"] == "uptflow":
        weights = "the packaged default model (trained on synthetic low light, not the authors' weights)"
    else:
        from uptflow.registry import ENHANCERS

        cls = ENHANCERS.get(e["name"])
        default = cls.default_weights() or getattr(cls, "expected", None)  # learned baselines: their release's file
        weights = f"its default weights {Path(default).name}" if default else "no weights"
    sha = (identity or {}).get("weights_sha256")
    if sha and "no weights" not in weights:
        weights += f", SHA-256 {sha[:12]}"
    # the identity's params are every setting, defaults included, as the enhancer resolved them; without it only
    # the config's own settings are known
    resolved = (identity or {}).get("params")
    params = ", ".join(f"{k}={v}" for k, v in (resolved if resolved is not None else e.get("params") or {}).items())
    return f"{e['label']}: {weights}" + (f", {params}" if params else "")


def _rows_of(label: str, labels: set[str]) -> list[str]:
    """The row labels among ``labels`` that belong to enhancer ``label``: itself, and its rows from a model whose own
    pipeline enhances, labelled ``<label> (pipeline: ...)`` (``UnitResult.row_label``)."""
    return sorted(lab for lab in labels if lab == label or lab.startswith(f"{label} (pipeline: "))


def _ran_with_note(cfg: Any, labels: set[str], identities: Mapping[str, Mapping[str, Any]]) -> str:
    """The note naming what every enhancer row of a table ran with, so no number is read without its weights."""
    ran = [_run_with(e, identities.get(e["label"])) for e in cfg["enhancers"] if _rows_of(e["label"], labels)]
    return "Our rows ran with: " + "; ".join(ran) + "."


def _paper_rows(wide: pd.DataFrame, cfg: Any, sub: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows of the paper's numbers where ours are on the paper's protocol (the dataset's ``paper_key``, its full
    test split undarkened, a metric the paper computes as we do), for the methods whose rows are in the table;
    plus notes naming the source, or why paper rows are withheld."""
    paper = paper_frame()
    by_title = {d["title"]: d for d in cfg["datasets"].values()}
    # paper method -> our rows of it in this table (only methods we ran get their paper row)
    ours: dict[str, list[str]] = {}
    for e in cfg["enhancers"]:
        if e["name"] in PAPER_METHODS and e["label"] in wide.index:
            ours.setdefault(PAPER_METHODS[e["name"]], []).append(e["label"])
    records, notes = [], []
    for ds_title, g in sub.groupby("dataset", sort=False):
        d = by_title.get(ds_title) or {}
        key = d.get("paper_key")
        if not key:
            continue
        reported = paper[paper["dataset"] == key]
        # the fewest images any row scored: a method that missed some is not on the paper's full split
        why = _dataset_mismatch(d, key, int(g["n"].min()), int(g["skipped"].max()))
        if why:
            notes.append(f"{ds_title}: paper rows not shown: {why}.")
            continue
        comparable = [m for m, theirs in PAPER_METRICS.items()
                      if (ds_title, m) in wide.columns and theirs in set(reported["metric"])]
        unknown = [m for m in UNDISCLOSED_METRICS if (ds_title, m) in wide.columns and m in set(reported["metric"])]
        if unknown:
            notes.append(f"{ds_title}: paper {', '.join(unknown)} numbers not shown: the paper does not say how it "
                         "computed them, and implementations differ (LOE by factors up to 8 between the NPE authors' "
                         "code and other grids; BRISQUE by several points between packages).")
        value = reported.set_index(["method", "metric"])["value"]
        shown = [dict(enhancer=f"{method} (paper)", dataset=ds_title, metric=m, value=value[(method, PAPER_METRICS[m])])
                 for method, labels in ours.items() if method in set(reported["method"])
                 for m in comparable if wide.loc[labels, (ds_title, m)].notna().any()]
        if not shown:
            if comparable:
                notes.append(f"{ds_title}: paper rows not shown: none of the enhancers in this table is in the paper.")
            elif not unknown:
                notes.append(f"{ds_title}: paper rows not shown: none of this table's metrics is the paper's "
                             f"({', '.join(dict.fromkeys(reported['metric']))}).")
            continue
        records += shown
        notes.append(f"Rows marked (paper): reported numbers of {_PAPER_SOURCE[reported['table'].iloc[0]]}, "
                     f"column {key!r}, for the methods in this table; same test split ({int(g['n'].min())} images) "
                     "and metric definitions as ours for UPT-Flow's row (its test.py); the other methods' rows are as "
                     "the paper prints them, some taken from their own papers, whose conventions can differ.")
    if not records:
        return wide, notes
    extra = pd.DataFrame(records).pivot_table(index="enhancer", columns=["dataset", "metric"], values="value",
                                              aggfunc="first", sort=False)
    extra.index.name = wide.index.name
    extra.columns.names = wide.columns.names
    return pd.concat([wide, extra.reindex(columns=wide.columns)]), notes


_LONG_COLUMNS = ["enhancer", "dataset", "level", "split", "metric", "cls", "value", "n", "skipped", "protocol"]


def _tidy(rows: pd.DataFrame, enhancers: list[str], order: dict[str, list[str]]) -> pd.DataFrame:
    """The long-format rows in the config's enhancer and dataset order and the catalogue's metric order, whatever
    order the results arrived in (a merge of shards must write the same file as one run)."""
    keys = {"enhancer": enhancers, **order}
    ranks = {col: rows[col].map({v: i for i, v in enumerate(vals)}).fillna(len(vals)) for col, vals in keys.items()}
    ranked = rows.assign(**{f"_rank_{c}": r for c, r in ranks.items()})
    by = [*(f"_rank_{c}" for c in keys), *keys, "cls"]
    return ranked.sort_values(by, kind="stable")[_LONG_COLUMNS].reset_index(drop=True)


def _skipped_note(sub: pd.DataFrame) -> list[str]:
    per = sub.groupby(["dataset", "enhancer"], sort=False)["skipped"].max()
    bad = [f"{ds} ({enh}): {int(n)}" for (ds, enh), n in per.items() if n > 0]
    return [f"Images left out (unreadable, or a reference or label of another size; the units' metrics.json says "
            f"which and why): {', '.join(bad)}."] if bad else []


def build_tables(df: pd.DataFrame, cfg: Any,
                 identities: Mapping[str, Mapping[str, Any]] | None = None) -> list[Table]:
    """All tables for the merged result rows ``df`` of a suite config (empty groups produce no table); ``identities``
    (enhancer label -> ``describe()``) adds the weights' checksums and resolved settings to the notes."""
    identities = identities or {}
    if df.empty:
        return []
    found = set(df["enhancer"])
    # an enhancer's rows follow its place in the config, its pipeline-labelled ones right after it
    enhancers = [e["label"] for e in cfg["enhancers"]]
    enhancers = [v for label in enhancers for v in dict.fromkeys([label, *_rows_of(label, found)])]
    titles = {name: d["title"] for name, d in cfg["datasets"].items()}
    order = {"dataset": list(titles.values()), "metric": list(CATALOGUE)}
    levels = {d["title"]: (d["series"], d["degrade"]["level"]) for d in cfg["datasets"].values() if d.get("series")}
    tables: list[Table] = []
    for task, bench in cfg.benchmarks.items():
        rows = df[df["task"] == task]
        for spec in type(bench).table_specs(task, cfg["tasks"][task]):
            sub = rows if spec.datasets is None else rows[rows["dataset"].isin([titles[n] for n in spec.datasets])]
            overall = sub[sub["cls"] == ""]
            if overall.empty:
                continue
            wide = _pivot(overall, ["dataset", "metric"], enhancers, order)
            ran_with = _ran_with_note(cfg, set(overall["enhancer"]), identities)
            notes = [ran_with, *_skipped_note(sub)]
            if spec.paper:
                wide, paper_notes = _paper_rows(wide, cfg, overall)
                notes += paper_notes
            else:
                notes.append("The UPT-Flow paper reports no numbers for this task, so no paper rows are shown.")
            tables.append(Table(spec.name, spec.title, wide, _protocol_line(overall), notes,
                                long=_tidy(overall, enhancers, order),
                                levels={k: v for k, v in levels.items() if k in set(overall["dataset"])}))
            if not spec.per_class:
                continue
            # datasets at several darkness levels are summarised by the report's metric-vs-darkness chart instead
            per_class = sub[(sub["cls"] != "") & ~sub["dataset"].isin(levels)]
            for (ds, metric), per in per_class.groupby(["dataset", "metric"], sort=False):
                slug = "".join(ch if ch.isalnum() else "_" for ch in f"{ds}_{metric}").strip("_").lower()
                tables.append(Table(f"{spec.name}_per_class_{slug}", f"{ds}: per-class {metric}",
                                    _pivot(per, ["cls"], enhancers, {}), _protocol_line(per), [ran_with],
                                    per_class=True, long=_tidy(per, enhancers, order)))
    return tables


def flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """One header row: ``dataset / metric`` plus the catalogue's better-direction arrow."""
    out = frame.copy()
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = [" / ".join(str(c) for c in col) + (f" {CATALOGUE[col[-1]].arrow}" if col[-1] in CATALOGUE
                                                          and CATALOGUE[col[-1]].arrow else "")
                       for col in out.columns]
    return out


def _markdown(t: Table) -> str:
    flat = flat_columns(t.frame)
    # tabulate only knows None as missing; NaN (no value for that cell) is shown as a dash like the other formats
    body = flat.astype(object).where(flat.notna(), None).to_markdown(floatfmt=".3f", missingval="–")
    notes = "".join(f"\n_{n}_\n" for n in t.notes)
    return f"## {t.title}\n\n_Protocol: {t.protocol}_\n\n{body}\n{notes}"


def _latex(t: Table) -> str:
    frame = t.frame.copy()
    body = frame.to_latex(float_format="%.3f", na_rep="--", multicolumn=True, multicolumn_format="c",
                          caption=t.title, label=f"tab:{t.name}", escape=True)
    lines = [f"% Protocol: {t.protocol}"] + [f"% {n}" for n in t.notes]
    return "\n".join(lines) + "\n" + body


def _csv(t: Table) -> str:
    lines = [f"# Protocol: {t.protocol}"] + [f"# {n}" for n in t.notes]
    return "\n".join(lines) + "\n" + t.frame.to_csv()


def write_tables(tables: list[Table], out_dir: str | Path) -> list[Path]:
    """Write each table as ``<name>.csv``, ``.long.csv``, ``.md`` and ``.tex`` (atomically) plus ``tables.md``."""
    out = Path(out_dir)
    written: list[Path] = []
    for t in tables:
        for suffix, text in ((".csv", _csv(t)), (".long.csv", t.long.to_csv(index=False)), (".md", _markdown(t)),
                             (".tex", _latex(t))):
            path = out / f"{t.name}{suffix}"
            atomic_write_text(path, text)
            written.append(path)
    atomic_write_text(out / "tables.md", "# Results\n\n" + "\n".join(_markdown(t) for t in tables))
    written.append(out / "tables.md")
    return written

