"""Load weights files without executing code: torch's weights-only unpickler with explicit allow-lists.

A ``.pth`` / ``.pt`` file is a pickle, and a plain pickle can run any code while it is read. Every weights file a
user passes to uptflow (enhancers, training checkpoints, detectors, segmenters) is therefore read with
``torch.load(weights_only=True)``, which only rebuilds tensors, containers and the globals allow-listed here.
A file that needs anything else is refused with one line naming the file and the refused global; torch's own
message (which suggests turning safe loading off) is never shown.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from uptflow.utils.paths import require_file

__all__ = ["UnsafeWeightsError", "safe_torch_load", "safe_loading", "mmengine_checkpoint_globals"]

_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


class UnsafeWeightsError(ValueError):
    """A weights file is unreadable or references code outside the allow-list; the message names the file."""


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what mmengine checkpoints pickle with it: ``HistoryBuffer.<statistic>``.

    mmengine's message hub stores its statistics methods (``HistoryBuffer.min`` ...), which pickle as
    ``getattr(HistoryBuffer, 'min')``; allowing the real ``getattr`` would let a crafted file reach any attribute
    of any allowed object (e.g. ``ndarray.tofile``) and call it.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if obj is HistoryBuffer and not name.startswith("_") and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f"Unsupported global: GLOBAL builtins.getattr({type(obj).__name__}, {name!r})")


def mmengine_checkpoint_globals() -> list[Any]:
    """What an mmengine training checkpoint pickles besides tensors and builtin containers (its message hub).

    Found with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints our trainer writes, plus the
    numpy dtype classes that arrays and scalars unpickle to.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    dtypes = (np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_)
    return [HistoryBuffer, np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar,
            (_history_buffer_getattr, "builtins.getattr"), *(type(np.dtype(t)) for t in dtypes)]


def _refused(err: BaseException) -> str | None:
    m = _GLOBAL.search(str(err))
    return m.group(1) if m else None


def _unreadable(path: str | os.PathLike, what: str) -> UnsafeWeightsError:
    return UnsafeWeightsError(f"{path}: not a readable {what} (empty, truncated, corrupt or not a torch checkpoint)")


@contextmanager
def safe_loading(path: str | os.PathLike, what: str, allow: Iterable[Any] = ()) -> Iterator[None]:
    """Run a weights-only load of ``path`` (by us or a library) with ``allow`` allow-listed; translate its errors.

    Raises:
        UnsafeWeightsError: the file references a global outside the allow-list, or is not a torch file at all.
    """
    try:
        with torch.serialization.safe_globals(list(allow)):
            yield
    except pickle.UnpicklingError as e:
        g = _refused(e)
        if g is not None:
            raise UnsafeWeightsError(f"{path}: refused to load {what}: the file references {g}, which is not allowed "
                                     "in a weights file (loading it could run code); use the file of the model's "
                                     "release") from None
        raise _unreadable(path, what) from None
    except (EOFError, RuntimeError) as e:
        if isinstance(e, RuntimeError) and not any(s in str(e) for s in ("PytorchStreamReader", "zip archive",
                                                                          "invalid load key", "magic number",
                                                                          "inline_container")):
            raise
        raise _unreadable(path, what) from None


def safe_torch_load(path: str | os.PathLike, what: str, allow: Iterable[Any] = ()) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU with ``allow`` allow-listed; errors name the file in one line."""
    p: Path = require_file(path, what)
    with safe_loading(p, what, allow):
        try:
            return torch.load(p, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, EOFError, RuntimeError):
            raise  # translated by safe_loading (a refused global, or a damaged archive)
        except Exception:  # noqa: BLE001 - arbitrary bytes fail anywhere in torch's readers (IndexError, KeyError...)
            raise _unreadable(p, what) from None
