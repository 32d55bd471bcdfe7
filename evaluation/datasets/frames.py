"""Frame sources for the night-traffic benchmark: a folder of frames or a video file, sampled every N frames.

Every frame carries its index in the source, a timestamp in seconds (from the video clock, or index / fps for
folders when ``fps`` is given, else NaN) and a name used in per-frame tables and COCO matching.
"""

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from uptflow.utils.io import IMAGE_SUFFIXES, imread_rgb

__all__ = ["Frame", "FrameSource", "open_source", "VIDEO_EXTS"]

VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv")


@dataclass
class Frame:
    """One sampled frame: uint8 HxWx3 RGB ``image``, source ``index``, ``time_s`` and file-like ``name``."""

    index: int
    time_s: float
    name: str
    image: np.ndarray


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


class FrameSource:
    """Iterate over the frames of a folder or video, keeping every ``every``-th one (at most ``max_frames``).

    Args:
        path: folder of images (sorted naturally by name) or a video file cv2 can decode.
        every: keep frames 0, N, 2N, ... of the source.
        max_frames: stop after this many kept frames.
        fps: frame rate for folder timestamps (videos use their own clock).
    """

    def __init__(self, path: str | os.PathLike, every: int = 1, max_frames: int | None = None,
                 fps: float | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path = Path(path)
        self.every, self.max_frames, self.fps = every, max_frames, fps
        if self.path.is_dir():
            self.kind = "frames"
            self.files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                                key=_natural_key)
            if not self.files:
                raise FileNotFoundError(f"no image frames ({', '.join(IMAGE_SUFFIXES)}) in {self.path}")
        elif self.path.is_file():
            if self.path.suffix.lower() not in VIDEO_EXTS:
                raise ValueError(f"{self.path}: not a video ({', '.join(VIDEO_EXTS)}) nor a folder of frames")
            self.kind = "video"
            self._probe_video()
        else:
            raise FileNotFoundError(f"traffic input not found: {self.path}")

    @property
    def name(self) -> str:
        """Short name of the source (folder or video stem) used as the 'part' in tables."""
        return self.path.stem if self.kind == "video" else self.path.name

    def _probe_video(self) -> None:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise ValueError(f"cannot open video {self.path} (unsupported codec or corrupt file)")
            self.video_fps = float(cap.get(cv2.CAP_PROP_FPS)) or float("nan")
            self.video_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()

    def __iter__(self) -> Iterator[Frame]:
        return self._iter_folder() if self.kind == "frames" else self._iter_video()

    def _iter_folder(self) -> Iterator[Frame]:
        kept = 0
        for i in range(0, len(self.files), self.every):
            if self.max_frames is not None and kept >= self.max_frames:
                return
            f = self.files[i]
            t = i / self.fps if self.fps else float("nan")
            yield Frame(i, t, f.name, imread_rgb(f))
            kept += 1

    def _iter_video(self) -> Iterator[Frame]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise ValueError(f"cannot open video {self.path}")
        fps = self.fps or self.video_fps
        i, kept = 0, 0
        try:
            while self.max_frames is None or kept < self.max_frames:
                # grab() skips decoding of the frames that are not kept
                if not cap.grab():
                    break
                if i % self.every == 0:
                    ok, bgr = cap.retrieve()
                    if not ok:
                        raise ValueError(f"{self.path}: cannot decode frame {i}")
                    msec = cap.get(cv2.CAP_PROP_POS_MSEC)
                    t = i / fps if math.isfinite(fps) and fps > 0 else msec / 1000.0
                    yield Frame(i, t, f"{self.path.stem}_{i:06d}.png", np.ascontiguousarray(bgr[..., ::-1]))
                    kept += 1
                i += 1
        finally:
            cap.release()


def open_source(path: str | os.PathLike, every: int = 1, max_frames: int | None = None,
                fps: float | None = None) -> FrameSource:
    """Open a folder of frames or a video file (see ``FrameSource``)."""
    return FrameSource(path, every=every, max_frames=max_frames, fps=fps)
