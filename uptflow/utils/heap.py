"""Keep freed memory inside the process for the length of an enhance pass (glibc), and hand it back afterwards.

Why: glibc returns every freed block above its mmap threshold (at most 32 MiB with its defaults) to the system, and
trims the heap's free top, so each large map of a pass is faulted in afresh; on the virtual machines this project
was measured on, first-touched memory costs about 0.3 ms per MiB against 0.04 ms reused (docs/speed.md). Raising
both thresholds while a pass runs lets the pass reuse what it freed; ``malloc_trim`` at the end returns the free
memory, so between passes the process holds no more than before (and the automatic tiling still sees it as free).

Nothing here changes results. It is a no-op outside glibc, with ``UPTFLOW_REUSE_MEMORY=0`` (the lowest peak), and
whenever the user chose allocator settings of their own (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_TOP_PAD_`` or malloc tunables in ``GLIBC_TUNABLES``), which are never overridden. No library offers this for
PyTorch's CPU allocator (its caching allocator is CUDA-only), hence ctypes.
"""

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator

__all__ = ["RETAINED_MMAP_THRESHOLD", "retained_heap"]

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# during a pass: no block is mmapped on its own and no free top is trimmed (mallopt takes a C int)
RETAINED_MMAP_THRESHOLD = 2**30
_RETAINED_TRIM_THRESHOLD = 2**31 - 1
# after a pass: glibc's own ceilings for its dynamic thresholds on 64-bit systems (32 MiB, trim at twice that), the
# values a process that frees large blocks settles at anyway; mallopt cannot switch the dynamic adjustment back on
_RESTORED_MMAP_THRESHOLD = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc, reuse is not switched off and the user left its malloc settings alone."""
    if os.environ.get("UPTFLOW_REUSE_MEMORY", "1") == "0":
        return None
    if any(k in os.environ for k in _USER_SETTINGS) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc


_LIBC = _glibc()


def _restore() -> None:
    _LIBC.mallopt(_M_MMAP_THRESHOLD, _RESTORED_MMAP_THRESHOLD)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, 2 * _RESTORED_MMAP_THRESHOLD)


def _after_fork_in_child() -> None:
    # a process forked during a pass (a data loader worker) is not inside that pass
    global _depth, _lock
    _lock = threading.Lock()
    if _depth:
        _depth = 0
        _restore()


@contextlib.contextmanager
def retained_heap(enabled: bool = True) -> Iterator[None]:
    """Within the (outermost, process-wide) block freed memory stays in the process; leaving it returns the memory."""
    global _LIBC, _depth
    active = enabled and _LIBC is not None
    if active:
        with _lock:
            if _depth == 0 and not _LIBC.mallopt(_M_MMAP_THRESHOLD, RETAINED_MMAP_THRESHOLD):
                # a glibc that caps the threshold (older releases allow at most 32 MiB): retention would not work
                _LIBC, active = None, False
            else:
                if _depth == 0:
                    _LIBC.mallopt(_M_TRIM_THRESHOLD, _RETAINED_TRIM_THRESHOLD)
                _depth += 1
    try:
        yield
    finally:
        if active:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    _restore()
                    _LIBC.malloc_trim(0)


if _LIBC is not None:
    os.register_at_fork(after_in_child=_after_fork_in_child)
