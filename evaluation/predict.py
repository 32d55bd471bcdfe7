"""``uptflow predict``: enhance, then detect, like ``yolo predict`` with an enhancer in front.

Examples:
    $ uptflow predict night.jpg street/ --checkpoint yolov8n.pt --enhancer uptflow --work-dir runs/predict
    $ uptflow predict 'shots/**/*.png' --detector mmdet --config mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py \\
        --checkpoint yolov3.pth --enhancer clahe --work-dir runs/predict_mmdet

Writes the annotated images (``<work-dir>/<relative name>.jpg``: boxes with class and score over the enhanced
image, named like ``uptflow enhance`` names its outputs) and
the detections as COCO results (``predictions.json``) with the ``images`` / ``categories`` they refer to
(``images.json``). A file that cannot be read is reported and the rest go on (exit status 1).

``made_by.json`` records what made each annotated image and the results: the detector (checkpoint checksum), the
enhancer (settings, weights checksum) and ``--show-conf``. A work dir already holding outputs of another
configuration is said so in one warning line before any work: how many annotated images this run replaces, how many
stay as they were (the folder then mixes configurations; the record says which made which) and whether the results
it replaces were another configuration's. Images of a run stopped midway are recorded as of an unknown one.
"""

import argparse
import hashlib
import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.cli import add_detector, add_enhancers
from uptflow.cli import add_device, add_limit, add_work_dir, run_standalone, score_threshold

__all__ = ["add_arguments", "run", "draw_detections", "main", "RECORD"]

RECORD = "made_by.json"
_OPTION_WORDS = {"detector": "detector", "enhancer": "enhancer", "show_conf": "--show-conf"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``uptflow predict``."""
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="image files, folders or glob patterns")
    add_detector(p, conf_default="the --show-conf value")
    p.add_argument("--show-conf", type=score_threshold, default=0.25,
                   help="score threshold of the drawn / saved boxes, 0-1 (default 0.25)")
    add_enhancers(p, default="uptflow")
    add_device(p)
    add_limit(p)
    add_work_dir(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def draw_detections(img: np.ndarray, boxes: np.ndarray, scores: np.ndarray, names: list[str]) -> np.ndarray:
    """``img`` (uint8 RGB) with every box drawn and labelled ``class score``."""
    import cv2

    out = np.ascontiguousarray(img.copy())
    h, w = out.shape[:2]
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    for (x1, y1, x2, y2), s, n in zip(boxes.astype(int).tolist(), scores.tolist(), names, strict=True):
        colour = tuple(int(c) for c in np.random.default_rng(zlib.crc32(n.encode())).integers(64, 256, 3))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        text = f"{n} {s:.2f}"
        (tw, th), base = cv2.getTextSize(text, font, scale, 1)
        # a filled tag in the box colour, above the box where there is room, moved inside the image at its edges,
        # so the label reads on any background
        left = min(max(0, x1), max(0, w - tw - 4))
        top = y1 - th - base - 4 if y1 - th - base - 4 >= 0 else min(max(0, y1), max(0, h - th - base - 4))
        cv2.rectangle(out, (left, top), (left + tw + 4, top + th + base + 4), colour, -1)
        ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        cv2.putText(out, text, (left + 2, top + th + 2), font, scale, ink, 1, cv2.LINE_AA)
    return out


def _configuration(detector: Any, enhancer: Any, show_conf: float) -> dict[str, Any]:
    """What makes an annotated image and a detection, as JSON would give it back (for comparing with records)."""
    from evaluation.benchmark import describe_enhancer

    config = {"detector": detector.describe(), "enhancer": describe_enhancer(enhancer), "show_conf": show_conf}
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def _read_record(out: Path) -> dict[str, Any]:
    """The work dir's record; an empty one when there is none or it cannot be read (its outputs: of unknown runs)."""
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not (isinstance(record, dict) and {"configurations", "images", "results"} <= record.keys()):
        return {"configurations": {}, "images": {}, "results": None}
    return record


def _other_configurations(out: Path, record: dict[str, Any], config: dict[str, Any], written_as: list[str]
                          ) -> str | None:
    """One line on what ``out`` holds of configurations other than ``config``: the annotated images this run replaces
    (``written_as``) and those that stay, and the results; None when there are none."""
    from uptflow.utils.text import listed

    key = _key(config)
    configs = record["configurations"]
    images = {n: k for n, k in record["images"].items() if k != key and (out / n).is_file()}
    other_results = (out / "predictions.json").is_file() and record["results"] != key
    if not images and not other_results:
        return None
    differs: dict[str, None] = {}
    for k in {*images.values(), *([record["results"]] if other_results else [])}:
        if k not in configs:
            differs["made by an interrupted or unrecorded run"] = None
        else:
            differs.update(dict.fromkeys(f"other {_OPTION_WORDS[part]}" for part in config
                                         if configs[k].get(part) != config[part]))
    own = set(written_as)
    replaced = [n for n in images if n in own]
    kept = [n for n in images if n not in own]
    fate = f"this run replaces {len(replaced)} annotated image(s) and keeps {len(kept)}"
    if kept:
        fate += f" ({listed(kept, 3)}), so the folder will mix configurations ({RECORD} says which made which)"
    if other_results:
        fate += "; predictions.json and images.json are replaced"
    return (f"--work-dir {out} holds outputs of another configuration ({', '.join(differs)}): {fate}; give each "
            "configuration a --work-dir of its own")


def _key(config: dict[str, Any]) -> str:
    """A short name for a configuration in the record."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def run(args: argparse.Namespace) -> int:
    """Enhance and detect every source image."""
    from tqdm import tqdm

    from evaluation.cli import build_enhancers, detector_spec
    from evaluation.detection.detectors import build_detector
    from uptflow.cli import resolve_device, work_dir
    from uptflow.tools.enhance import collect_inputs, output_paths
    from uptflow.utils.io import atomic_write_json, imread_rgb, imwrite_rgb
    from uptflow.utils.text import failure_line, listed

    out = work_dir(args)
    # inputs first: a mistyped source is a one-line error before any model is loaded
    pairs, errors = collect_inputs(args.sources, exclude=out)
    if not pairs:
        raise ValueError("no input images (" + "; ".join(errors) + ")")
    pairs = pairs[: args.limit]
    targets = output_paths(pairs, out, suffix=".jpg")
    written_as = [t.relative_to(out).as_posix() for t in targets]
    record = _read_record(out)
    foreign = [t for t, n in zip(targets, written_as, strict=True) if os.path.lexists(t) and n not in record["images"]]
    if foreign:  # e.g. a folder of the user's own JPEGs given as the work dir
        raise ValueError(f"--work-dir {out}: would overwrite {len(foreign)} file(s) that uptflow predict did not "
                         f"record writing ({listed(foreign, 3)}); give another --work-dir")
    device = resolve_device(args.device)
    enhancers = build_enhancers(args, device)
    if len(enhancers) != 1:
        raise ValueError(f"--enhancer: predict takes one enhancer, got {list(enhancers)}")
    enhancer = next(iter(enhancers.values()))
    spec = detector_spec(args)
    if args.conf is None and spec["type"] != "mmdet":
        spec["conf"] = args.show_conf  # predictions, not mAP: no need for the 0.001 floor
    detector = build_detector({"device": device, **spec})
    config = _configuration(detector, enhancer, args.show_conf)
    key = _key(config)
    mixed = _other_configurations(out, record, config, written_as)
    if mixed:
        print(f"warning: {mixed}", file=sys.stderr)
    for e in errors:
        print(f"FAILED {e}", file=sys.stderr)
    # this run's images are of no known configuration until written, so a run stopped midway leaves none misnamed
    earlier = dict(record["images"])
    record["images"].update(dict.fromkeys(written_as))
    record["configurations"][key] = config
    atomic_write_json(out / RECORD, record)
    classes = list(detector.class_names)
    images, results, failed = [], [], list(errors)
    todo = list(zip(pairs, targets, written_as, strict=True))
    for i, ((path, _), target, name) in enumerate(tqdm(todo, desc="predict", unit="img", disable=args.no_progress),
                                                  start=1):
        try:
            img = imread_rgb(path)
            if enhancer is not None:
                img = enhancer(img)
            det = detector(img)
            # a detector can return non-finite boxes (e.g. an untrained mmdet model): they are not detections
            keep = (det.scores >= args.show_conf) & np.isfinite(det.boxes).all(axis=1)
            names = [det.names[int(c)] for c in det.labels[keep]]
            imwrite_rgb(target, draw_detections(img, det.boxes[keep], det.scores[keep], names))
        except Exception as e:  # noqa: BLE001 - one bad image must not stop the others (nor lose their results)
            failed.append(str(path))
            tqdm.write(failure_line(path, e), file=sys.stderr)
            if name in earlier:  # its file, if any, is still the earlier run's
                record["images"][name] = earlier[name]
            else:
                del record["images"][name]
            continue
        record["images"][name] = key
        images.append(dict(id=i, file_name=str(path), width=int(img.shape[1]), height=int(img.shape[0])))
        results += [dict(image_id=i, category_id=classes.index(n) + 1, score=round(float(s), 5),
                         bbox=[round(float(x1), 2), round(float(y1), 2), round(float(x2 - x1), 2),
                               round(float(y2 - y1), 2)])
                    for (x1, y1, x2, y2), s, n in zip(det.boxes[keep], det.scores[keep], names, strict=True)]
    atomic_write_json(out / "predictions.json", results)
    atomic_write_json(out / "images.json", dict(images=images, categories=[dict(id=k + 1, name=c)
                                                                          for k, c in enumerate(classes)]))
    record["results"] = key
    used = {*record["images"].values(), record["results"]}
    record["configurations"] = {k: v for k, v in record["configurations"].items() if k in used}
    atomic_write_json(out / RECORD, record)
    print(f"{len(images)} images, {len(results)} detections -> {out} ({len(failed)} failed)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.predict``."""
    return run_standalone(add_arguments, run, "uptflow predict", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
