"""A static HTML report: the result tables, per-class bar charts and side-by-side image grids.

The page is one self-contained folder (``index.html`` + PNGs, relative links), so it can be opened from disk,
copied or published as is. Charts and grids are drawn with matplotlib (Agg backend, no display needed).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.tables.report import Table, flat_columns
from uptflow.utils.io import atomic_path, atomic_write_text

__all__ = ["write_report", "per_class_chart", "image_grid", "darkness_chart"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1.5em;
       box-sizing: border-box; color: #222; }
div.scroll { overflow-x: auto; max-width: 100%; }
table.result { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
table.result th, table.result td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.result th { background: #f3f3f3; }
p.protocol { font-size: 0.85em; color: #555; }
img.chart, img.grid { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.skipped li, .failed li { font-family: monospace; font-size: 0.85em; }
"""


def _save_fig(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def per_class_chart(t: Table, path: Path) -> Path:
    """Grouped bar chart of a per-class table (classes on x, one bar per enhancer) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = t.frame.dropna(axis=1, how="all").fillna(0.0)
    classes, enhancers = list(frame.columns), list(frame.index)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(classes) * max(1, len(enhancers)) / 2), 3.6))
    width = 0.8 / max(1, len(enhancers))
    x = np.arange(len(classes))
    for i, enh in enumerate(enhancers):
        ax.bar(x + (i - (len(enhancers) - 1) / 2) * width, frame.loc[enh].to_numpy(dtype=float), width, label=enh)
    ax.set_xticks(x)
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_ylabel(t.title.split("per-class ")[-1])
    ax.set_title(t.title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    _save_fig(fig, path)
    return path


def darkness_chart(t: Table, path: Path) -> Path:
    """Metric vs darkness level, one line per enhancer: one panel per (series, metric) of a table's leveled datasets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = t.long[t.long["dataset"].isin(t.levels)].copy()
    df["series"] = df["dataset"].map(lambda d: t.levels[d][0])
    df["lv"] = df["dataset"].map(lambda d: t.levels[d][1])
    panels = list(df.groupby(["series", "metric"], sort=False))
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    # constrained layout keeps each row's x labels clear of the next row's titles
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, ((series, metric), g) in zip(axes.flat, panels, strict=False):
        for enh, e in g.groupby("enhancer", sort=False):
            e = e.sort_values("lv")
            ax.plot(e["lv"], e["value"], marker="o", label=enh)
        ax.set_xlabel("darkness level (1 mild ... 5 very dark)")
        ax.set_ylabel(metric)
        ax.set_title(f"{series}: {metric}", fontsize=9)
        ax.set_xticks(sorted(g["lv"].unique()))
        ax.grid(alpha=0.3)
    axes.flat[min(cols, len(panels)) - 1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save_fig(fig, path)
    return path


def _zoom_box(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A centred square crop a third of the short side wide: ``(top, left, bottom, right)``."""
    h, w = shape[:2]
    side = max(8, min(h, w) // 3)
    top, left = (h - side) // 2, (w - side) // 2
    return top, left, top + side, left + side


def image_grid(grid: dict[str, Any], path: Path, max_side: int = 256) -> Path:
    """Side-by-side PNG: per sample a full row and a zoomed-crop row; columns are the day source (for darkened
    datasets), the benchmark input, the reference (if any) and each enhancer's output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    samples = grid["samples"]
    has_src = any(s.get("source") is not None for s in samples)
    has_gt = any(s.get("gt") is not None for s in samples)
    labels = (["source (day)"] if has_src else []) + (["input (darkened)" if has_src else "input"]) \
        + (["reference"] if has_gt else []) + list(samples[0]["outputs"])
    # rows as tall as their images (the full image at its aspect, the square zoom), so no band is left empty
    heights = [r for s in samples for r in (s["input"].shape[0] / s["input"].shape[1], 1.0)]
    inches = 2.3 * sum(heights) + 0.6  # an image spans about 2.1 of its column's 2.4 inches
    fig, axes = plt.subplots(2 * len(samples), len(labels), figsize=(2.4 * len(labels), inches), squeeze=False,
                             gridspec_kw=dict(height_ratios=heights, top=1 - 0.6 / inches, bottom=0.01, hspace=0.12,
                                              wspace=0.05))
    for r, s in enumerate(samples):
        images = ([s.get("source")] if has_src else []) + [s["input"]] + ([s.get("gt")] if has_gt else []) \
            + [s["outputs"].get(k) for k in labels[1 + has_src + has_gt:]]
        top, left, bottom, right = _zoom_box(s["input"].shape)
        for c, img in enumerate(images):
            full, zoom = axes[2 * r, c], axes[2 * r + 1, c]
            full.axis("off")
            zoom.axis("off")
            if r == 0:  # titled even when the first sample lacks this column's image (an unmatched input)
                full.set_title(labels[c], fontsize=9)
            step = max(1, int(np.ceil(max((s["input"] if img is None else img).shape[:2]) / max_side)))
            if img is None:  # a blank of the input's size keeps the row's panels (and titles) aligned
                full.imshow(np.full_like(s["input"][::step, ::step], 235))
                full.text(0.5, 0.5, f"no {labels[c]}", transform=full.transAxes, ha="center", va="center",
                          fontsize=8, color="grey")
                continue
            full.imshow(img[::step, ::step])
            full.add_patch(Rectangle((left / step, top / step), (right - left) / step, (bottom - top) / step,
                                     fill=False, edgecolor="yellow", linewidth=0.8))
            zoom.imshow(img[top:bottom, left:right], interpolation="nearest")
        axes[2 * r, 0].text(-0.05, 0.5, s["name"], transform=axes[2 * r, 0].transAxes, rotation=90, va="center",
                            ha="right", fontsize=7)
        axes[2 * r + 1, 0].text(-0.05, 0.5, "zoom", transform=axes[2 * r + 1, 0].transAxes, rotation=90,
                                va="center", ha="right", fontsize=7)
    fig.suptitle(grid["dataset"], fontsize=11, y=1 - 0.1 / inches)
    _save_fig(fig, path)
    return path


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower()


def write_report(out_dir: str | Path, tables: list[Table], grids: list[dict[str, Any]] | None = None,
                 skipped: list[dict[str, str]] | None = None, failures: list[dict[str, str]] | None = None,
                 bad_images: list[dict[str, str]] | None = None, run_info: dict[str, Any] | None = None,
                 grid_max_side: int = 256) -> Path:
    """Write ``<out_dir>/index.html`` with tables, per-class charts and image grids; return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>uptflow evaluation: {html.escape(str((run_info or {}).get('suite', '')))}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>uptflow evaluation suite: {html.escape(str((run_info or {}).get('suite', '')))}</h1>"]
    if not tables:
        parts.append("<p id='no-results'>No results yet.</p>")
    for t in tables:
        frame = flat_columns(t.frame)
        table_html = frame.to_html(float_format=lambda v: f"{v:.3f}", na_rep="–", classes="result",
                                   border=0, table_id=f"table-{t.name}")
        parts += [f"<section id='{t.name}'><h2>{html.escape(t.title)}</h2>",
                  f"<p class='protocol'>Protocol: {html.escape(t.protocol)}</p>",
                  f"<div class='scroll'>{table_html}</div>"]
        parts += [f"<p class='note'>{html.escape(n)}</p>" for n in t.notes]
        parts.append(f"<p class='files'>Files: <a href='../tables/{t.name}.csv'>CSV</a>, "
                     f"<a href='../tables/{t.name}.md'>Markdown</a>, <a href='../tables/{t.name}.tex'>LaTeX</a></p>")
        if t.levels and not t.per_class and len({lv for _, lv in t.levels.values()}) > 1:
            png = darkness_chart(t, out / f"darkness_{t.name}.png")
            parts.append(f"<img class='chart' src='{png.name}' alt='metric vs darkness: {html.escape(t.title)}'>")
        if t.per_class and not t.frame.dropna(axis=1, how="all").empty:
            png = per_class_chart(t, out / f"chart_{t.name}.png")
            parts.append(f"<img class='chart' src='{png.name}' alt='per-class chart: {html.escape(t.title)}'>")
        parts.append("</section>")
    if grids:
        parts.append("<section id='grids'><h2>Side-by-side samples</h2>")
        for g in grids:
            png = image_grid(g, out / f"grid_{_slug(g['dataset'])}.png", grid_max_side)
            parts.append(f"<h3>{html.escape(g['dataset'])}</h3>"
                         f"<img class='grid' src='{png.name}' alt='samples: {html.escape(g['dataset'])}'>")
        parts.append("</section>")
    if skipped:
        parts.append("<section class='skipped' id='skipped'><h2>Skipped</h2><ul>")
        parts += [f"<li>{html.escape(s['what'])}: {html.escape(s['reason'])}</li>" for s in skipped]
        parts.append("</ul></section>")
    if bad_images:
        parts.append("<section class='failed' id='bad-images'><h2>Images left out</h2><ul>")
        parts += [f"<li>{html.escape(b['file'])} ({html.escape(b['where'])}): {html.escape(b['reason'])}</li>"
                  for b in bad_images]
        parts.append("</ul></section>")
    if failures:
        parts.append("<section class='failed' id='failures'><h2>Failures</h2><ul>")
        parts += [f"<li>{html.escape(f['unit'])}: {html.escape(f['error'])}</li>" for f in failures]
        parts.append("</ul></section>")
    if run_info:
        parts.append("<section id='run-info'><h2>Run</h2><details><summary>versions, commit, seeds, weights"
                     f"</summary><pre>{html.escape(json.dumps(run_info, indent=2, default=str))}</pre>"
                     "</details></section>")
    parts.append("</body></html>")
    page = out / "index.html"
    atomic_write_text(page, "\n".join(parts) + "\n")
    return page

