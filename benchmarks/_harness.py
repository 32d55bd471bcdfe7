"""Shared helpers of the benchmark scripts: the committed ("baseline") uptflow package, subprocess cases, timing.

Speed comparisons run the current and the baseline package side by side in one benchmark run, each case in a
fresh subprocess (so peak RSS is that case's), alternating the versions round by round so that a load change on a
shared machine hits both; the best round of each is reported.

OpenMP's wait policy matters a lot on a shared machine: with the default (spinning) policy, an idle worker thread
spins at every barrier and competes for the cores the other thread needs, so on a machine with other busy processes
each parallel region of a 2-thread run costs milliseconds (measured here: an elementwise op on a 19x304x96 map took
8 ms with 2 threads at load 4, 0.4 ms with 1 thread). ``OMP_WAIT_POLICY=PASSIVE`` (sleeping waits) removes that;
the scripts set it for every case unless told otherwise (``--omp-wait-policy``), the same for both versions.

The memory allocator matters too on these machines (virtual machines whose fresh memory is costly to touch: about 0.3 ms
per MiB on first touch against 0.04 ms on reuse, measured here). glibc returns every freed block above its mmap
threshold (at most 32 MiB by default) to the system, so each of the many large maps of an enhance pass is faulted in
afresh: about 3.3 GiB per 400x600 fp32 pass of the full-size network (41 GiB for the original implementation). Since
then a CPU pass of the library reuses the memory it frees while it runs, when the pass fits its memory budget with room
to spare (``uptflow.utils.heap``; the ``default`` setting); ``--malloc noreuse`` switches that off
(``UPTFLOW_REUSE_MEMORY=0``). ``--malloc retain`` starts the cases with glibc's ``MALLOC_MMAP_THRESHOLD_`` (1 GiB) and
``MALLOC_TRIM_THRESHOLD_`` (2 GiB) raised, so freed memory is kept and reused by the process (fewer faults; the heap may
fragment, so peak RSS can grow); ``thp`` sets PyTorch's ``THP_MEM_ALLOC_ENABLE=1`` (2 MiB-aligned large tensors backed
by transparent huge pages where the kernel allows them: one fault per 2 MiB, which the faults column counts as one base
page, so it understates ``thp``). Both are environment settings any user can make (the library then leaves glibc's
settings alone), and ``default`` removes all of them from the environment of the cases.

The baseline is the ``uptflow`` package of a git revision (``HEAD`` by default) extracted with ``git archive`` into a
temporary folder, which is removed afterwards; no copy of old code is kept in the repository.
"""

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def baseline_package(revision: str | None) -> Iterator[str | None]:
    """Yield a folder holding the ``uptflow`` package of git ``revision`` (None: yield None, no baseline)."""
    if not revision:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="uptflow-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "uptflow"], capture_output=True,
                                 check=False)
        if archive.returncode != 0:
            raise SystemExit(f"git archive {revision} failed: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield tmp


WAIT_POLICIES = ("passive", "active", "default")
# environment of each allocator setting (see the module docstring)
MALLOC_SETTINGS = {
    "default": {},
    "retain": {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31)},
    "thp": {"THP_MEM_ALLOC_ENABLE": "1"},
    "noreuse": {"UPTFLOW_REUSE_MEMORY": "0"},
}
_ALLOCATOR_KEYS = frozenset(key for setting in MALLOC_SETTINGS.values() for key in setting)


def run_case(script: str, args: list[str], src: str | None, threads: int, wait_policy: str = "passive",
             malloc: str = "default") -> dict:
    """Run ``script --_case ...`` in a fresh interpreter with ``src`` (a package folder) first on the path, the
    OpenMP ``wait_policy`` ("default": the environment's) and the allocator setting ``malloc`` (a key of
    :data:`MALLOC_SETTINGS`); return the JSON object its last stdout line holds."""
    # "default" means glibc's and PyTorch's defaults, whatever the calling shell exports
    env = {k: v for k, v in os.environ.items() if k not in _ALLOCATOR_KEYS}
    env |= dict(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), **MALLOC_SETTINGS[malloc])
    if wait_policy != "default":
        env["OMP_WAIT_POLICY"] = wait_policy.upper()
    path = [src or str(REPO), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    res = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=env, cwd=REPO)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-4000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def page_faults_bytes() -> int:
    """Bytes of minor page faults of this process so far (in base pages; a huge-page fault counts as one page)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt * resource.getpagesize()


def timed(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Best wall-clock and best process-CPU seconds of ``repeats`` calls of ``fn``."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def load_average() -> str:
    """The 1-minute load average (how busy the shared machine was)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"
