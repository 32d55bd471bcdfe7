"""``uptflow enhance INPUT... --work-dir OUT``: enhance images with a registered enhancer (UPT-Flow by default).

Inputs are image files, folders (searched recursively, linked sub-folders too; hidden files and folders left
out) and glob patterns (expanded here too, so quoted patterns work: ``uptflow enhance 'shots/**/*.jpg' --work-dir
out``). Outputs are 8-bit RGB PNGs named like the input (a link: like the link, not its target), relative to the
folder given (or to the fixed part of a glob pattern). Never inputs: files inside the output folder, earlier outputs
of this command (PNGs carrying its metadata: counted and skipped) and videos (refused: extract frames first). Files
in the output folder that this command did not write are never overwritten: the run is refused before any work.

Resumable and never stale: every output PNG records what made it (the enhancer's identity: name, settings,
weights checksum; and the input file's checksum) in a text chunk, and an existing output is reused only when both
match, otherwise it is recomputed. An output folder holding outputs of another enhancer, or of the same one with
other settings, weights or code, is said so in one warning line before any work: how many this run replaces and how
many others stay as they were (the folder then mixes enhancers; each PNG still says which made it). Outputs are
written atomically, and an input that fails (unreadable, missing) is reported while the rest go on; the exit status
is 1 if any failed. Same-size images can be enhanced in batches (``--batch-size``, for video frames and camera
folders).

Examples:
    $ uptflow enhance photos/ --work-dir out                          # the default model, fp32, heat 0
    $ uptflow enhance 'shots/**/*.jpg' --work-dir out --precision bf16
    $ uptflow enhance frame.png --enhancer-weights work_dirs/mine/uptflow_best.pth --work-dir out
    $ uptflow enhance night/ --enhancer zero_dce --enhancer-weights Epoch99.pth --work-dir out
    $ uptflow enhance night/ --set uptflow.blend=linear --tile 640 --work-dir out   # any setting of the enhancer
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from uptflow.utils.io import IMAGE_SUFFIXES
from uptflow.utils.paths import VIDEO_SUFFIXES, list_images, natural_key
from uptflow.utils.text import failure_line, listed

__all__ = ["add_arguments", "run", "collect_inputs", "output_paths", "output_identity", "remove_abandoned_outputs",
           "is_enhance_output"]

_GLOB_CHARS = set("*?[")
# worded for every command that lists its inputs here (uptflow enhance, uptflow predict)
_VIDEO_HELP = ("this command reads images, not videos: extract the frames first (e.g. ffmpeg -i {video} "
               "frames/%06d.png) and give those, or run the traffic benchmark on the video (see docs/traffic.md)")


# defaults of the options only UPT-Flow has: another enhancer given one of them is a mistake
_UPTFLOW_DEFAULTS: dict[str, Any] = {"precision": None, "compile": False, "tile": "auto", "overlap": None,
                                     "tile_statistics": None, "heat": 0.0, "seed": 0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``uptflow enhance``."""
    from uptflow.cli import DeprecatedOption, add_device, add_limit, add_work_dir

    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders (searched recursively) or glob patterns ('**' recurses)")
    add_work_dir(parser, old=("-o", "--output", "--out"), what="output folder (PNG files, same relative names)")
    parser.add_argument("--enhancer", default="uptflow", help="registered enhancer name (default: uptflow)")
    parser.add_argument("--enhancer-weights", default=None,
                        help="weights (UPT-Flow: official layout or uptflow format; default: the packaged model)")
    parser.add_argument("--weights", dest="enhancer_weights", action=DeprecatedOption, new="--enhancer-weights")
    parser.add_argument("--set", action="append", default=[], metavar="[LABEL.]KEY=VALUE",
                        help="a setting of the enhancer, e.g. uptflow.blend=linear (LABEL is the --enhancer name; "
                             "repeatable)")
    add_device(parser)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16", "auto"], default=_UPTFLOW_DEFAULTS["precision"],
                        help="UPT-Flow: encoder precision (default fp32; bf16 only on CPUs with AMX/AVX512-BF16 and "
                             "GPUs, emulated and much slower elsewhere; fp16 for GPUs, many times slower on the CPU; "
                             "auto: bf16 where native, else fp32)")
    parser.add_argument("--compile", action="store_true",
                        help="UPT-Flow: run the encoder through torch.compile (the first image of each size compiles; "
                             "for GPUs and many same-size frames)")
    parser.add_argument("--batch-size", type=int, default=1, help="enhance up to N same-size images at once")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--tile", default=_UPTFLOW_DEFAULTS["tile"],
                        help="UPT-Flow tiling: auto (whole image when it fits in memory), 0 (never) or a tile side")
    parser.add_argument("--overlap", type=int, default=_UPTFLOW_DEFAULTS["overlap"],
                        help="UPT-Flow tile overlap in pixels")
    parser.add_argument("--tile-statistics", choices=["image", "tile"], default=_UPTFLOW_DEFAULTS["tile_statistics"],
                        help="UPT-Flow tiles: share the image's global statistics (image, default: 3 passes) or "
                             "pool over each tile alone (tile: 1 pass, visibly different from untiled)")
    parser.add_argument("--heat", type=float, default=_UPTFLOW_DEFAULTS["heat"],
                        help="UPT-Flow latent temperature (0 = deterministic)")
    parser.add_argument("--seed", type=int, default=_UPTFLOW_DEFAULTS["seed"],
                        help="seed of the heat > 0 sampling, reset for every image (same seed, same output)")
    add_limit(parser)


def _glob_base(pattern: str) -> Path:
    """The leading part of ``pattern`` without wildcards (outputs are named relative to it)."""
    fixed = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def collect_inputs(inputs: list[str], exclude: str | os.PathLike | None = None
                   ) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Expand files, folders and glob patterns into ``(image, base folder)`` pairs, without duplicates, in the given
    order and natural order within each input (folders as :func:`uptflow.utils.paths.list_images` lists them).

    Args:
        inputs: files, folders, glob patterns.
        exclude: a folder whose files are never inputs (the output folder, when it lies inside an input folder).

    Returns:
        The pairs, absolute but with links kept (an output is named after the link given, not its target), and one
        error message per input that gave no image (nothing matched, a video, only videos).
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    pairs: dict[Path, tuple[Path, Path]] = {}
    errors = []
    for item in inputs:
        path = Path(item)
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            errors.append(f"{item}: a video; " + _VIDEO_HELP.format(video=item))
            continue
        if path.is_file():
            found = [(path, path.parent)]
        elif path.is_dir():
            found = [(p, path) for p in list_images(path, recursive=True)]
        elif _GLOB_CHARS & set(item):
            base = _glob_base(item)
            matches = sorted(map(Path, glob.glob(item, recursive=True)), key=lambda p: natural_key(p.as_posix()))
            found = [(p, base) for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        else:
            errors.append(f"input not found: {item}")
            continue
        kept = [(p, b) for p, b in found if not _inside(p.resolve(), skip)]
        if found and not kept:
            errors.append(f"{item}: inside the output folder {skip}, whose files are never inputs")
        elif not kept:
            errors.append(_no_images(item, path))
        for p, base in kept:
            # one output per file reached, named after the path that reached it first
            pairs.setdefault(p.resolve(), (Path(os.path.abspath(p)), Path(os.path.abspath(base))))
    return list(pairs.values()), errors


def _no_images(item: str, path: Path) -> str:
    """Why a folder or pattern gave no image, naming the videos it holds (users point this command at them)."""
    if path.is_dir():
        videos = list_images(path, recursive=True, suffixes=VIDEO_SUFFIXES)
    else:
        videos = [p for p in map(Path, glob.glob(item, recursive=True)) if p.suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        return f"no images in {item}"
    return f"no images in {item}, only {len(videos)} video(s); " + _VIDEO_HELP.format(video="VIDEO")


def _output_record(path: Path) -> dict[str, Any] | None:
    """What made ``path``, as its PNG text chunk records it, when ``uptflow enhance`` wrote it; else None."""
    from uptflow.utils.io import read_png_meta

    if path.suffix.lower() != ".png":  # only PNGs carry the metadata
        return None
    meta = read_png_meta(path)
    return meta if isinstance(meta, dict) and {"enhancer", "input_sha256"} <= meta.keys() else None


def is_enhance_output(path: Path) -> bool:
    """Whether ``path`` is a PNG written by ``uptflow enhance`` (its text chunk records what made it)."""
    return _output_record(path) is not None


def _in_the_way(targets: list[Path], out_dir: Path) -> list[Path]:
    """What writing ``targets`` would replace that ``uptflow enhance`` did not write: a file at an output's name that
    is not an earlier output, or a file where an output needs a folder."""
    found: dict[Path, None] = {}
    for t in targets:
        folders = [out_dir / q for q in reversed(t.relative_to(out_dir).parents) if q != Path(".")]
        blocking = next((f for f in folders if os.path.lexists(f) and not f.is_dir()), None)
        if blocking is None and os.path.lexists(t) and not (t.is_file() and is_enhance_output(t)):
            blocking = t
        if blocking is not None:
            found[blocking] = None
    return list(found)


def output_paths(pairs: list[tuple[Path, Path]], out_dir: Path, suffix: str = ".png") -> list[Path]:
    """The file each input is written to (its relative name with ``suffix``); raises ValueError naming both inputs
    and the output if two would share one."""
    targets, seen = [], {}
    for path, base in pairs:
        target = (out_dir / path.relative_to(base)).with_suffix(suffix)
        if target in seen:
            raise ValueError(f"{seen[target]} and {path} would both be written to {target}; give them in separate "
                             f"runs with different --work-dir folders")
        seen[target] = path
        targets.append(target)
    return targets


def remove_abandoned_outputs(targets: list[Path]) -> None:
    """Delete the temporary files a killed run left for these outputs (only theirs, only when no one writes them)."""
    from uptflow.utils.io import TEMP_MARK, remove_if_abandoned

    names: dict[Path, set[str]] = {}
    for t in targets:
        names.setdefault(t.parent, set()).add(t.name)
    for folder, own in names.items():
        if folder.is_dir():
            for p in folder.glob(f".*{TEMP_MARK}*"):
                if p.name[1:].split(TEMP_MARK)[0] in own:
                    remove_if_abandoned(p)


def _maker(enhancer: Any) -> dict[str, Any]:
    """The enhancer's identity as its outputs record it: where the weights lie is left out, their checksum kept."""
    return {k: v for k, v in enhancer.describe().items() if k != "weights"}


def _other_makers(out_dir: Path, targets: list[Path], maker: dict[str, Any]) -> str | None:
    """One line on the outputs in ``out_dir`` made by another enhancer, or by this one with other settings, weights or
    code: how many of them this run replaces (``targets``) and which stay; None when there are none."""
    if not out_dir.is_dir():
        return None
    own = set(targets)
    makers: dict[str, None] = {}
    replaced, kept = 0, []
    for path in list_images(out_dir, recursive=True, suffixes=(".png",)):
        record = _output_record(path)
        if record is None or not isinstance(record["enhancer"], dict):
            continue
        found = {k: v for k, v in record["enhancer"].items() if k != "variant"}  # the tiles an image got: same maker
        if found == maker:
            continue
        makers[_difference(found, maker)] = None
        if path in own:
            replaced += 1
        else:
            kept.append(path)
    if not makers:
        return None
    fate = f"this run replaces {replaced} and keeps {len(kept)}"
    if kept:
        fate += f" ({listed(kept, 3)}), so the folder will mix enhancers (each PNG records which made it)"
    return (f"--work-dir {out_dir} holds {replaced + len(kept)} output(s) of another enhancer or other settings "
            f"({', '.join(makers)}): {fate}; give each enhancer and its settings a --work-dir of its own")


def _difference(found: dict[str, Any], maker: dict[str, Any]) -> str:
    """Another enhancer's name, or this one's name with what differs (settings, weights, code)."""
    name = found.get("name")
    if name != maker.get("name"):
        return str(name)
    changed = [word for key, word in (("params", "settings"), ("weights_sha256", "weights"), ("code_sha256", "code"))
               if found.get(key) != maker.get(key)]
    return f"{name} with other {' and '.join(changed) or 'identity'}"


def output_identity(enhancer: Any, source: Path) -> dict[str, Any]:
    """What an output PNG records about how it was made: the enhancer's identity, how it processes this image where
    its settings leave that open (``output_variant``: e.g. the tiles chosen from the free memory) and the input's
    checksum."""
    from uptflow.utils.io import file_sha256, image_size

    ident = _maker(enhancer)
    width, height = image_size(source, oriented=True)
    variant = enhancer.output_variant(height, width)
    if variant is not None:  # untiled outputs keep the identity they always had
        ident["variant"] = variant
    return {"enhancer": ident, "input_sha256": file_sha256(source)}


def _enhancer_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from uptflow.cli import parse_settings

    settings = parse_settings(args.set, [args.enhancer])[args.enhancer]
    if args.enhancer != "uptflow":
        given = [f"--{k.replace('_', '-')}" for k, v in _UPTFLOW_DEFAULTS.items() if getattr(args, k) != v]
        if given:
            raise ValueError(f"{', '.join(given)}: option(s) of --enhancer uptflow, which {args.enhancer} "
                             "does not have")
        return settings
    twice = [k for k in settings if k in _UPTFLOW_DEFAULTS and getattr(args, k) != _UPTFLOW_DEFAULTS[k]]
    if twice:
        raise ValueError(f"--{twice[0].replace('_', '-')} and --set uptflow.{twice[0]}: the same setting given twice; "
                         "give one")
    tile = args.tile
    if tile in ("0", "none"):
        tile = None
    elif tile != "auto":
        try:
            tile = int(tile)
        except ValueError:
            raise ValueError(f"--tile: expected auto, 0 or a tile side in pixels, got {tile!r}") from None
    kw: dict[str, Any] = {"tile": tile, "heat": args.heat, "seed": args.seed}
    if args.overlap is not None:
        kw["overlap"] = args.overlap
    if args.tile_statistics is not None:
        kw["tile_statistics"] = args.tile_statistics
    if args.precision is not None:
        kw["precision"] = args.precision
    if args.compile:
        kw["compile"] = True
    return {**kw, **settings}


def _batches(items: list[tuple[Path, Path, Any]], size: int) -> list[list[tuple[Path, Path, Any]]]:
    """Consecutive runs of same-size images, at most ``size`` long (size read from the header only)."""
    from uptflow.utils.io import image_size

    def shape(p: Path) -> tuple[int, int] | None:
        try:
            return image_size(p)
        except (ValueError, FileNotFoundError):
            return None

    out: list[list[tuple[Path, Path, Any]]] = []
    last = None
    for it in items:
        s = shape(it[0])
        if out and size > 1 and s is not None and s == last and len(out[-1]) < size:
            out[-1].append(it)
        else:
            out.append([it])
        last = s
    return out


@contextlib.contextmanager
def _naming(paths: list[Path], shown: set[str]) -> Iterator[None]:
    """Warnings raised while ``paths`` are enhanced (a diverged heat sample, say) are warned again naming them; a
    message already in ``shown`` is not repeated (recording resets Python's once-per-place memory)."""
    with warnings.catch_warnings(record=True) as caught:
        yield
    for w in caught:
        if str(w.message) not in shown:
            shown.add(str(w.message))
            warnings.warn_explicit(f"{listed(paths, 3)}: {w.message}", w.category, w.filename, w.lineno)


def run(args: argparse.Namespace) -> int:
    """Enhance every input image; return 0 if all succeeded, 1 if any failed, 2 on unusable arguments."""
    from tqdm import tqdm

    from uptflow.cli import resolve_device, work_dir
    from uptflow.enhancers import build_enhancer
    from uptflow.utils.io import imread_rgb, imwrite_rgb, read_png_meta

    out_dir = work_dir(args)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size: must be >= 1, got {args.batch_size}")
    pairs, errors = collect_inputs(args.inputs, exclude=out_dir)
    is_output = {p: is_enhance_output(p) for p, _ in pairs}
    earlier = [p for p, out in is_output.items() if out]
    pairs = [(p, b) for p, b in pairs if not is_output[p]]
    reasons = list(errors)
    if earlier:
        one = len(earlier) == 1
        reasons.append(f"{len(earlier)} input{'' if one else 's'} {'is an' if one else 'are'} uptflow enhance "
                       f"output{'' if one else 's'} ({'its' if one else 'their'} PNG metadata says so; outputs are "
                       f"never enhanced again): {listed(earlier, 3)}")
    if not pairs:
        raise ValueError(("nothing to enhance: " if earlier else "") + "; ".join(reasons))
    pairs = pairs[: args.limit]
    targets = output_paths(pairs, out_dir)
    foreign = _in_the_way(targets, out_dir)
    if foreign:
        raise ValueError(f"--work-dir {out_dir}: would overwrite {len(foreign)} file(s) that uptflow enhance did not "
                         f"write: {listed(foreign, 5)}; give another --work-dir, or move or remove them")
    for err in errors:
        print(f"FAILED {err}", file=sys.stderr)
    if earlier:
        print(f"skipped: {reasons[-1]}", file=sys.stderr)
    remove_abandoned_outputs(targets)
    enhancer = build_enhancer(args.enhancer, weights=args.enhancer_weights, device=resolve_device(args.device),
                              **_enhancer_kwargs(args))
    todo, failed, reused = [], list(errors), 0
    for (path, _), target in zip(pairs, targets, strict=True):
        try:
            ident = output_identity(enhancer, path)
        except (OSError, ValueError) as e:
            failed.append(str(path))
            print(failure_line(path, e), file=sys.stderr)
            continue
        if target.is_file() and read_png_meta(target) == ident:
            reused += 1
        else:
            todo.append((path, target, ident))
    mixed = _other_makers(out_dir, [t for _, t, _ in todo], _maker(enhancer))
    if mixed:
        print(f"warning: {mixed}", file=sys.stderr)
    done, shown = 0, set()
    with tqdm(total=len(todo), desc=f"enhance ({args.enhancer})", unit="img", disable=args.no_progress) as bar:
        for batch in _batches(todo, args.batch_size):
            try:
                images = [imread_rgb(p) for p, _, _ in batch]
                with _naming([p for p, _, _ in batch], shown):
                    outs = enhancer.enhance_batch(images) if len(batch) > 1 else [enhancer(images[0])]
                for (_, target, ident), img in zip(batch, outs, strict=True):
                    imwrite_rgb(target, img, meta=ident)
                done += len(batch)
            except Exception as e:  # noqa: BLE001 - one bad image must not stop the others
                if len(batch) > 1:  # find the bad one: redo this batch image by image
                    todo_one = [[it] for it in batch]
                else:
                    todo_one = []
                    failed.append(str(batch[0][0]))
                    tqdm.write(failure_line(batch[0][0], e), file=sys.stderr)
                for single in todo_one:
                    try:
                        with _naming([single[0][0]], shown):
                            out = enhancer(imread_rgb(single[0][0]))
                        imwrite_rgb(single[0][1], out, meta=single[0][2])
                        done += 1
                    except Exception as e1:  # noqa: BLE001
                        failed.append(str(single[0][0]))
                        tqdm.write(failure_line(single[0][0], e1), file=sys.stderr)
            bar.update(len(batch))
    print(f"{done} enhanced, {reused} reused (same enhancer, weights and input), {len(failed)} failed -> {out_dir}")
    return 1 if failed else 0
