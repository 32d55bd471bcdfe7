"""``uptflow predict``: enhance, then detect, like ``yolo predict`` with an enhancer in front.

Examples:
    $ uptflow predict night.jpg street/ --checkpoint yolov8n.pt --enhancer uptflow --work-dir runs/predict
    $ uptflow predict 'shots/**/*.png' --detector mmdet --config mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py \\
        --checkpoint yolov3.pth --enhancer clahe --work-dir runs/predict_mmdet

Writes the annotated images (``<work-dir>/<relative name>.jpg``: boxes with class and score over the enhanced
image, named like ``uptflow enhance`` names its outputs) and
the detections as COCO results (``predictions.json``) with the ``images`` / ``categories`` they refer to
(``images.json``). A file that cannot be read is reported and the rest go on (exit status 1).
"""

import argparse
import sys
import zlib

import numpy as np

from evaluation.cli import add_detector, add_enhancers
from uptflow.cli import add_device, add_limit, add_work_dir, run_standalone

__all__ = ["add_arguments", "run", "draw_detections", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``uptflow predict``."""
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="image files, folders or glob patterns")
    add_detector(p)
    p.add_argument("--show-conf", type=float, default=0.25, help="score threshold of the drawn / saved boxes")
    add_enhancers(p, default="uptflow")
    add_device(p)
    add_limit(p)
    add_work_dir(p)


def draw_detections(img: np.ndarray, boxes: np.ndarray, scores: np.ndarray, names: list[str]) -> np.ndarray:
    """``img`` (uint8 RGB) with every box drawn and labelled ``class score``."""
    import cv2

    out = np.ascontiguousarray(img.copy())
    for (x1, y1, x2, y2), s, n in zip(boxes.astype(int).tolist(), scores.tolist(), names, strict=True):
        colour = tuple(int(c) for c in np.random.default_rng(zlib.crc32(n.encode())).integers(64, 256, 3))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(out, f"{n} {s:.2f}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                    cv2.LINE_AA)
    return out


def run(args: argparse.Namespace) -> int:
    """Enhance and detect every source image."""
    from tqdm import tqdm

    from evaluation.cli import build_enhancers, detector_spec
    from evaluation.detection.detectors import build_detector
    from uptflow.cli import resolve_device, work_dir
    from uptflow.tools.enhance import collect_inputs, output_paths
    from uptflow.utils.io import atomic_write_json, imread_rgb, imwrite_rgb

    out = work_dir(args)
    # inputs first: a mistyped source is a one-line error before any model is loaded
    pairs, errors = collect_inputs(args.sources, exclude=out)
    if not pairs:
        raise ValueError("no input images (" + "; ".join(errors) + ")")
    device = resolve_device(args.device)
    enhancers = build_enhancers(args, device)
    if len(enhancers) != 1:
        raise ValueError(f"--enhancer: predict takes one enhancer, got {list(enhancers)}")
    enhancer = next(iter(enhancers.values()))
    spec = detector_spec(args)
    if args.conf is None and spec["type"] != "mmdet":
        spec["conf"] = args.show_conf  # predictions, not mAP: no need for the 0.001 floor
    detector = build_detector({"device": device, **spec})
    pairs = pairs[: args.limit]
    targets = [t.with_suffix(".jpg") for t in output_paths(pairs, out)]  # relative names: no two collide
    for e in errors:
        print(f"FAILED {e}", file=sys.stderr)
    classes = list(detector.class_names)
    images, results, failed = [], [], list(errors)
    for i, ((path, _), target) in enumerate(tqdm(list(zip(pairs, targets, strict=True)), desc="predict", unit="img"),
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
            tqdm.write(f"FAILED {path}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        images.append(dict(id=i, file_name=str(path), width=int(img.shape[1]), height=int(img.shape[0])))
        results += [dict(image_id=i, category_id=classes.index(n) + 1, score=round(float(s), 5),
                         bbox=[round(float(x1), 2), round(float(y1), 2), round(float(x2 - x1), 2),
                               round(float(y2 - y1), 2)])
                    for (x1, y1, x2, y2), s, n in zip(det.boxes[keep], det.scores[keep], names, strict=True)]
    atomic_write_json(out / "predictions.json", results)
    atomic_write_json(out / "images.json", dict(images=images, categories=[dict(id=k + 1, name=c)
                                                                          for k, c in enumerate(classes)]))
    print(f"{len(images)} images, {len(results)} detections -> {out} ({len(failed)} failed)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.predict``."""
    return run_standalone(add_arguments, run, "uptflow predict", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
