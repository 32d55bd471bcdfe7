"""Atomic file writes and image reading with clear errors."""

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

# the PNG text chunk holding imwrite_rgb's metadata
_PNG_META_KEY = "uptflow"
# file suffixes of the image formats imread_rgb reads (lower case)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

__all__ = [
    "IMAGE_SUFFIXES", "TEMP_MARK", "is_temp_file", "remove_if_abandoned",
    "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
    "imread_rgb", "imwrite_rgb", "read_png_meta", "open_image", "image_size", "pil_to_rgb", "to_rgb_uint8",
    "write_with",
    "file_sha256", "hash_file",
]


# marks the temporary files of atomic_path: ".<name>.uptflow-tmp-<random><suffix>", so a cleanup can tell
# them from anything a user keeps (see is_temp_file)
TEMP_MARK = ".uptflow-tmp-"
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"[A-Za-z0-9_]+(\.[A-Za-z0-9]+)*$")


def is_temp_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_path` (left behind by a killed writer)."""
    return bool(_TEMP_NAME.match(Path(path).name))


def _try_lock(fd: int, blocking: bool) -> bool:
    """An exclusive advisory lock on ``fd`` (released by the OS when its process dies); False when another holds it."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this OS: treat every temporary file as possibly in use
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def remove_if_abandoned(path: str | os.PathLike) -> bool:
    """Delete a temporary file of :func:`atomic_path` whose writer is gone; return whether it was deleted.

    A live writer holds a lock on its temporary file, which the OS releases when the process ends (even by kill -9),
    so a cleanup never deletes a file that another process is still writing.
    """
    path = Path(path)
    if not is_temp_file(path) or path.is_symlink() or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if not _try_lock(fd, blocking=False):
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on error delete it.

    Readers never see a half-written file, and a crash leaves the previous version intact; the temporary file is
    locked while it is written (see :func:`remove_if_abandoned`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=suffix if suffix is not None else path.suffix,
                               dir=path.parent)
    try:
        _try_lock(fd, blocking=True)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the file should get the user's umask like any other
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, **kw: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default, **kw) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# Pillow modes whose pixel arrays to_rgb_uint8 reads as they are (grey, RGB, RGBA, 16/32-bit and float grey)
_ARRAY_MODES = frozenset({"1", "L", "RGB", "RGBA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})


def imread_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 HxWx3 RGB, honouring EXIF orientation; errors name the file and the problem."""
    with open_image(path) as im:
        try:
            return pil_to_rgb(im, source=str(path))
        except (OSError, SyntaxError) as e:  # truncated or corrupt pixel data, found while decoding
            raise ValueError(f"cannot read image {path}: {e}") from None


def pil_to_rgb(im: Any, source: str = "PIL image") -> np.ndarray:
    """A PIL image of any mode as uint8 HxWx3 RGB, honouring EXIF orientation (palette, CMYK, YCbCr, LAB, HSV and
    grey + alpha converted by Pillow, since their pixel arrays are not RGB)."""
    from PIL import ImageOps

    im = ImageOps.exif_transpose(im)
    if im.mode not in _ARRAY_MODES:
        im = im.convert("RGB")
    return to_rgb_uint8(np.array(im), source=source, mode=im.mode)


@contextmanager
def open_image(path: str | os.PathLike):
    """``PIL.Image.open`` of a user's file, every way it can fail turned into one ValueError naming the file.

    Catches what Pillow raises for unknown formats, truncated files and decompression bombs, and the ImportError
    that ultralytics' process-wide patch of ``Image.open`` raises for unknown formats when its optional HEIF plugin
    is absent (importing ultralytics replaces ``PIL.Image.open``).
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    try:
        im = Image.open(p)
    except Image.DecompressionBombError as e:
        raise ValueError(f"cannot read image {p}: refused as a possible decompression bomb ({e})") from None
    except (UnidentifiedImageError, ImportError, OSError, SyntaxError) as e:
        unknown = isinstance(e, (ImportError, UnidentifiedImageError))  # Pillow's message repeats the path
        reason = "not a recognised image format" if unknown else str(e)
        raise ValueError(f"cannot read image {p}: {reason}") from None
    with im:
        yield im


def image_size(path: str | os.PathLike, oriented: bool = False) -> tuple[int, int]:
    """``(width, height)`` from the header only: of the stored pixels, or with ``oriented`` as displayed (after the
    EXIF orientation, as :func:`imread_rgb` loads it)."""
    with open_image(path) as im:
        w, h = im.size
        try:  # a PNG's EXIF may sit after its pixels, so a truncated one fails here rather than in open_image
            turned = oriented and im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # the orientations that swap the axes
        except (OSError, SyntaxError) as e:
            raise ValueError(f"cannot read image {path}: {e}") from None
    return (h, w) if turned else (w, h)


def to_rgb_uint8(arr: np.ndarray, source: str = "array", mode: str | None = None) -> np.ndarray:
    """Convert grayscale / RGBA / 16-bit / float [0,1] arrays to uint8 HxWx3 RGB; reject anything else clearly."""
    a = np.asarray(arr)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"{source}: expected an HxW, HxWx3 or HxWx4 image, got shape {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 4:
        # alpha is dropped, not composited: enhancement works on the colour the camera recorded
        a = a[..., :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16 or (mode is not None and mode.startswith("I;16")):
        return np.ascontiguousarray((a.astype(np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))
    if np.issubdtype(a.dtype, np.floating):
        if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
            raise ValueError(f"{source}: float images must be in [0, 1], got range [{a.min():.3g}, {a.max():.3g}]")
        return np.ascontiguousarray((a * 255.0).round().astype(np.uint8))
    if np.issubdtype(a.dtype, np.integer):
        # the bit depth of a 32-bit file or of another integer type is unknown: guessing it from the values would
        # read one scene 257x brighter or darker depending on its brightest pixel
        raise ValueError(f"{source}: a {'32-bit integer' if mode == 'I' else str(a.dtype)} image (values "
                         f"{a.min() if a.size else 0}..{a.max() if a.size else 0}) has no known bit depth; give 8-bit "
                         "(uint8) or 16-bit (uint16) pixels")
    raise ValueError(f"{source}: unsupported image dtype {a.dtype}")


def imwrite_rgb(path: str | os.PathLike, img: np.ndarray, meta: dict[str, Any] | None = None) -> None:
    """Write a uint8 HxWx3 RGB image atomically; the format follows the extension.

    ``meta`` (PNG only) is stored as JSON in a ``uptflow`` text chunk, e.g. what made the image (see
    :func:`read_png_meta`).
    """
    import cv2

    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"imwrite_rgb({path}): expected uint8 HxWx3, got {img.dtype} {img.shape}")
    path = Path(path)
    if meta is not None:
        from PIL import Image, PngImagePlugin

        if path.suffix.lower() != ".png":
            raise ValueError(f"imwrite_rgb({path}): metadata is only stored in PNG files")
        info = PngImagePlugin.PngInfo()
        info.add_text(_PNG_META_KEY, json.dumps(meta, sort_keys=True, default=_json_default))
        with atomic_path(path) as tmp:
            Image.fromarray(np.ascontiguousarray(img)).save(tmp, format="PNG", pnginfo=info)
        return
    ok, buf = cv2.imencode(path.suffix or ".png", np.ascontiguousarray(img[..., ::-1]))
    if not ok:
        raise ValueError(f"cannot encode image for {path} (extension {path.suffix!r})")
    atomic_write_bytes(path, buf.tobytes())


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file (memoised on path, size and mtime, so big checkpoints are hashed once per process)."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    return _sha256_cached(str(p), st.st_size, st.st_mtime_ns)


def hash_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks, without any memo."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return hash_file(path)



def read_png_meta(path: str | os.PathLike) -> dict[str, Any] | None:
    """The metadata :func:`imwrite_rgb` stored in a PNG (None when there is none or the file is unreadable)."""
    try:
        with open_image(path) as im:
            text = im.info.get(_PNG_META_KEY)
    except (ValueError, FileNotFoundError):
        return None
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


def write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and atomically move the result to ``path`` (for libraries that write by name)."""
    with atomic_path(path) as tmp:
        writer(tmp)
