"""Image statistics that compare synthetic low-light images with real ones: mean luminance and noise per intensity.

The noise estimate is the robust standard deviation (1.4826 x median absolute value) of a high-pass residual
(image minus its Gaussian blur, sigma 1.5) in bins of the blurred intensity, per channel. Edges inflate the residual,
but the median ignores the few edge pixels of each bin; the result is a noise floor comparable between images.

``python -m uptflow.data.stats --real LABEL=DIR,DIR ... --photos DIR ... --out plot.png`` draws the comparison of
``docs/synthesis.md``: real low-light images against pairs synthesised from photos with the default random
degradation and with each darkness level.
"""

import argparse
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["mean_luminance", "noise_profile", "INTENSITY_BINS", "add_arguments", "run", "main"]

# bin edges of the blurred intensity (display values in [0, 1]); low-light images live in the lower half
INTENSITY_BINS = np.array([0.0, 0.02, 0.04, 0.06, 0.08, 0.11, 0.15, 0.2, 0.3, 0.45])
_MIN_PIXELS = 200  # fewer pixels than this in a bin: no estimate (NaN)


def mean_luminance(img: np.ndarray) -> float:
    """Mean Rec. 709 luma of a uint8 HxWx3 RGB image, in [0, 1] (display values, no linearisation)."""
    return float((img.astype(np.float64) / 255.0 @ np.array([0.2126, 0.7152, 0.0722])).mean())


def noise_profile(img: np.ndarray, bins: np.ndarray = INTENSITY_BINS) -> np.ndarray:
    """Robust noise std (display values) per intensity bin, averaged over channels; NaN where a bin is too empty."""
    from scipy.ndimage import gaussian_filter

    x = img.astype(np.float64) / 255.0
    out = np.full(len(bins) - 1, np.nan)
    smooth = np.stack([gaussian_filter(x[..., c], 1.5) for c in range(3)], axis=-1)
    resid, level = (x - smooth).ravel(), smooth.ravel()
    which = np.digitize(level, bins) - 1
    for b in range(len(bins) - 1):
        r = resid[which == b]
        if r.size >= _MIN_PIXELS:
            out[b] = 1.4826 * np.median(np.abs(r))
    return out


def _images(folders: Sequence[str]) -> list[np.ndarray]:
    from uptflow.data.paired import list_images
    from uptflow.utils.io import IMAGE_SUFFIXES, imread_rgb

    return [imread_rgb(p) for f in folders for p in list_images(f, IMAGE_SUFFIXES)]


def _groups(specs: Sequence[str]) -> dict[str, list[np.ndarray]]:
    """``LABEL=DIR[,DIR...]`` (or a bare DIR, labelled 'real') -> {label: images}."""
    out: dict[str, list[np.ndarray]] = {}
    for spec in specs:
        label, _, dirs = spec.rpartition("=")
        out.setdefault(label or "real", []).extend(_images(dirs.split(",")))
    return out


def _median_profile(imgs: list[np.ndarray]) -> np.ndarray:
    """Per-bin median of the images' noise profiles (NaN where no image has an estimate)."""
    prof = np.array([noise_profile(i) for i in imgs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins stay NaN
        return np.nanmedian(prof, axis=0)


def _synthetic(photos: list[np.ndarray], degradation, seed: int, copies: int) -> list[np.ndarray]:
    out = []
    for i, img in enumerate(photos):
        for c in range(copies):
            out.append(degradation(img, np.random.default_rng([seed, i, c]))[0])
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (``--out`` names the one PNG written, a file, not an output folder)."""
    parser.add_argument("--real", nargs="+", required=True,
                        help="real low-light images: LABEL=DIR[,DIR...] groups (or bare folders)")
    parser.add_argument("--photos", nargs="+", required=True, help="folders of normal-light photos to darken")
    parser.add_argument("--max-photos", type=int, default=60, help="photos used (the first N, name order)")
    parser.add_argument("--copies", type=int, default=3, help="random degradations per photo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="PNG file to write")


def run(args: argparse.Namespace) -> int:
    """Draw the comparison into ``args.out`` and print its table; return 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uptflow.data.degradation import DARKNESS_LEVELS, LowLightDegradation, darkness_level
    from uptflow.utils.io import atomic_path

    sets = _groups(args.real)
    photos = _images(args.photos)[: args.max_photos]
    sets["synthetic (random)"] = _synthetic(photos, LowLightDegradation(), args.seed, args.copies)
    levels = {lv: _synthetic(photos, darkness_level(lv), args.seed, 1) for lv in DARKNESS_LEVELS}

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    edges = np.linspace(0, 0.5, 26)
    for name, imgs in sets.items():
        ax1.hist([mean_luminance(i) for i in imgs], bins=edges, density=True, alpha=0.45,
                 label=f"{name} (n={len(imgs)})")
    for lv, imgs in levels.items():
        x = np.median([mean_luminance(i) for i in imgs])
        ax1.axvline(x, color="k", ls=":", lw=1)
        ax1.text(x, ax1.get_ylim()[1] * 0.97, f"L{lv}", ha="center", va="top", fontsize=8)
    ax1.set(xlabel="mean luma (display values)", ylabel="density", title="Brightness (dotted: darkness levels 1-5)")
    ax1.legend(fontsize=8)

    centres = (INTENSITY_BINS[:-1] + INTENSITY_BINS[1:]) / 2
    for name, imgs in {**sets, **{f"level {lv}": levels[lv] for lv in (1, 3, 5)}}.items():
        line = ax2.plot(centres, _median_profile(imgs), marker="o", label=name,
                        ls="--" if name.startswith("level") else "-")
        if name == "synthetic (random)":
            prof = np.array([noise_profile(i) for i in imgs])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanpercentile(prof, [25, 75], axis=0)
            ax2.fill_between(centres, lo, hi, color=line[0].get_color(), alpha=0.15)
    ax2.set(xlabel="local intensity (display values)", ylabel="noise std (display values)",
            title="Noise per intensity (median over images; band: synthetic 25-75 %)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(Path(args.out)) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    print(f"wrote {args.out} ({sum(len(v) for v in sets.values())} images, {len(photos)} photos)")
    print("| set | images | mean luma: median (10-90 %) | noise std at intensity 0.02-0.08 |\n|---|---|---|---|")
    for name, imgs in {**sets, **{f"level {lv}": v for lv, v in levels.items()}}.items():
        lum = [mean_luminance(i) for i in imgs]
        print(f"| {name} | {len(imgs)} | {np.median(lum):.3f} ({np.percentile(lum, 10):.3f}-"
              f"{np.percentile(lum, 90):.3f}) | {np.nanmean(_median_profile(imgs)[1:4]):.4f} |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Plot mean luminance and noise per intensity of real low-light images vs synthetic ones."""
    from uptflow.cli import run_standalone

    return run_standalone(add_arguments, run, "python -m uptflow.data.stats", __doc__,
                          None if argv is None else list(argv))


if __name__ == "__main__":
    raise SystemExit(main())
