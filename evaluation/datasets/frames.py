"""Frame datasets for the night-traffic benchmark: a folder of frames (natural order) or a video file.

Every ``every``-th frame is kept (at most ``limit``); each sample records its index in the source and a timestamp
in seconds (the video clock, or index / fps for folders when ``fps`` is given, else NaN). Video frames are decoded
sequentially by :meth:`VideoDataset.images`, skipping the decode of frames that are not kept.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.datasets.base import Dataset, DatasetReader, Sample, list_images
from evaluation.registry import DATASETS
from uptflow.utils.paths import VIDEO_SUFFIXES

__all__ = ["Frames", "VideoDataset"]


def _probe(path: Path) -> tuple[float, int]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ValueError(f"cannot open video {path} (unsupported codec or corrupt file)")
        return float(cap.get(cv2.CAP_PROP_FPS)) or float("nan"), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


class VideoDataset(Dataset):
    """Frames of a video file: loading decodes sequentially (random access seeks, which is slow)."""

    def read(self, sample: Sample) -> np.ndarray:
        import cv2

        cap = cv2.VideoCapture(str(self.root))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(sample.meta["index"]))
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok:
            raise ValueError(f"{self.root}: cannot decode frame {sample.meta['index']}")
        return np.ascontiguousarray(bgr[..., ::-1])

    def sources(self) -> dict[str, Path]:
        """The video file (its frames have no files of their own) besides the reader's parsed files."""
        return {**super().sources(), "video": self.root}

    def images(self, skip: Collection[str] = ()) -> Iterator[tuple[Sample, np.ndarray | Exception]]:
        import cv2

        wanted = {int(s.meta["index"]): s for s in self.samples if s.name not in skip}
        cap = cv2.VideoCapture(str(self.root))
        if not cap.isOpened():
            raise ValueError(f"cannot open video {self.root}")
        done = set()
        try:
            i = 0
            while len(done) < len(wanted) and cap.grab():  # grab() skips decoding the frames not kept
                if i in wanted:
                    ok, bgr = cap.retrieve()
                    s = wanted[i]
                    done.add(i)
                    if ok:
                        yield s, self._degraded(s, np.ascontiguousarray(bgr[..., ::-1]))
                    else:
                        yield s, ValueError(f"{self.root}: cannot decode frame {i}")
                i += 1
        finally:
            cap.release()
        for i in sorted(set(wanted) - done):
            yield wanted[i], ValueError(f"{self.root}: the video ends before frame {i}")


@DATASETS.register_module(name="frames")
class Frames(DatasetReader):
    """A night-traffic part: a folder of frames (natural order) or a video file.

    Args:
        every: keep frames 0, N, 2N, ... of the source.
        fps: frame rate for the timestamps of frame folders (videos use their own clock).
        **kw: ``root``, ``split``, ``limit`` (kept frames), ``degrade`` (see :class:`DatasetReader`).
    """

    type = "frames"
    layout = "a folder of frames (natural-sorted) or a video file (" + ", ".join(VIDEO_SUFFIXES) + ")"

    def __init__(self, root: str | None = None, split: str | None = None, limit: int | None = None,
                 degrade: str | dict | None = None, every: int = 1, fps: float | None = None) -> None:
        super().__init__(root, split, limit, degrade)
        if every < 1:
            raise ValueError(f"every: must be >= 1, got {every}")
        if fps is not None and not 0 < fps < math.inf:
            raise ValueError(f"fps: must be a finite number > 0, got {fps}")
        self.every, self.fps = every, fps

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "every": self.every, "fps": self.fps}

    @property
    def is_video(self) -> bool:
        """Whether the source is a video file."""
        return self.root is not None and self.root.is_file()

    def present(self) -> bool:
        return self.root is not None and (self.root.is_dir() or self.root.is_file())

    def samples(self, seed: int, data_dir: Path) -> tuple[list[Sample], dict[str, Any]]:
        part = self.root.stem if self.is_video else self.root.name
        if self.is_video:
            if self.root.suffix.lower() not in VIDEO_SUFFIXES:
                raise ValueError(f"{self.root}: not a video ({', '.join(VIDEO_SUFFIXES)}) nor a folder of frames")
            video_fps, count = _probe(self.root)
            fps = self.fps or video_fps
            indices = range(0, count, self.every)
            samples = [Sample(f"{part}/{self.root.stem}_{i:06d}", None, part,
                              meta=dict(index=i, time_s=i / fps if math.isfinite(fps) and fps > 0 else float("nan")))
                       for i in indices]
            return samples, dict(kind="video", video_fps=video_fps, video_frames=count)
        files = list_images(self.root)
        samples = [Sample(f"{part}/{f.stem}", f, part,
                          meta=dict(index=i, time_s=i / self.fps if self.fps else float("nan")))
                   for i, f in enumerate(files)][:: self.every]
        return samples, dict(kind="frames")

    def make_dataset(self, samples: list[Sample], info: dict[str, Any], seed: int) -> Dataset:
        ds = super().make_dataset(samples, info, seed)
        if not self.is_video:
            return ds
        return VideoDataset(ds.type, ds.root, ds.samples, ds.settings, exif=False, degrade=ds.degrade, seed=seed,
                            info=ds.info)
