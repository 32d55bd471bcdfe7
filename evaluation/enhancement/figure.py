"""Side-by-side comparison figure: input, every enhancer's output and the ground truth when there is one."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluation.enhancement.datasets import Sample
from uptflow.utils.io import imread_rgb, write_with

__all__ = ["comparison_figure"]


def comparison_figure(samples: Sequence[Sample], labels: Sequence[str], out: Path, path: Path,
                      max_images: int = 4, panel_inches: float = 2.4) -> None:
    """Write a PNG grid (rows = images, columns = input | enhancers | GT) from the saved enhanced images.

    Images are only shrunk for display by matplotlib; the metrics always use the full-resolution files.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = sorted(samples, key=lambda s: s.gt is None)[:max_images]  # paired images first (stable order)
    if not chosen:
        return
    with_gt = any(s.gt is not None for s in chosen)
    cols = ["input", *labels] + (["ground truth"] if with_gt else [])
    fig, axes = plt.subplots(len(chosen), len(cols), figsize=(panel_inches * len(cols), panel_inches * len(chosen)),
                             squeeze=False)
    for r, s in enumerate(chosen):
        panels = [s.low, *[out / "images" / lab / s.group / f"{s.name}.png" for lab in labels]]
        panels += [s.gt] if with_gt else []
        for c, (title, p) in enumerate(zip(cols, panels, strict=True)):
            ax = axes[r][c]
            ax.axis("off")
            if p is not None and Path(p).is_file():
                img = imread_rgb(p)
                if c == 0:
                    shape = img.shape
                ax.imshow(img)
            else:  # a blank panel of the input's size keeps the grid aligned
                ax.imshow(np.full(shape, 255, np.uint8))
                ax.text(0.5, 0.5, "n/a", transform=ax.transAxes, ha="center", va="center", fontsize=8)
            if r == 0:
                ax.set_title(title, fontsize=9)
            if c == 0:
                ax.text(0, -0.02, f"{s.group}/{s.name}", transform=ax.transAxes, fontsize=7, va="top")
    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
