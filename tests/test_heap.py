"""retained_heap: freed memory is reused inside the block and returned after it; user settings are respected."""

import json
import os
import subprocess
import sys

import pytest

from uptflow.utils import heap
from uptflow.utils.heap import retained_heap

pytestmark = pytest.mark.skipif(heap._LIBC is None, reason="retained_heap acts only with glibc and without "
                                                           "MALLOC_*_ / GLIBC_TUNABLES malloc settings")

BLOCK_MIB = 64  # above glibc's largest dynamic mmap threshold (32 MiB): normally returned on every free

# Measured in a fresh interpreter: in a long-lived process (the test session) a large free heap chunk left by earlier
# work can serve a block outside any retention, so "faulted afresh" would depend on what ran before.
_PROBE = f"""
import ctypes, json, resource
from uptflow.utils import heap
from uptflow.utils.heap import retained_heap

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
BLOCK = {BLOCK_MIB} * 2**20

def faulted():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt * resource.getpagesize() / 2**20

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024

def touch():
    # plain malloc: glibc's reuse of posix_memalign'ed blocks (PyTorch's tensors) varies from call to call in such a
    # loop; what a whole enhance pass gains is measured by benchmarks/enhance_speed.py --malloc default,noreuse
    before = faulted()
    block = libc.malloc(BLOCK)
    ctypes.memset(block, 1, BLOCK)
    libc.free(block)
    return faulted() - before

out = dict(before=[touch(), touch()])
with retained_heap(enabled=False):
    out["disabled"] = [touch(), touch()]
with retained_heap():
    with retained_heap():
        out["nested"] = [touch(), touch()]
    out["depth_inside"] = heap._depth
    out["outer"] = touch()
    out["held_mib"] = rss()
out["released_mib"] = rss()
out["depth_after"] = heap._depth
out["after"] = [touch(), touch()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_freed_large_blocks_are_faulted_afresh_outside_a_block_and_reused_inside(probe):
    assert min(probe["before"]) > 0.9 * BLOCK_MIB
    assert probe["nested"][1] < 0.1 * BLOCK_MIB and probe["outer"] < 0.1 * BLOCK_MIB
    assert min(probe["after"]) > 0.9 * BLOCK_MIB  # back to glibc's behaviour once the block ends


def test_memory_kept_during_the_block_is_returned_when_it_ends(probe):
    assert probe["held_mib"] - probe["released_mib"] > 0.8 * BLOCK_MIB


def test_nested_blocks_keep_retaining_until_the_outermost_ends(probe):
    assert probe["depth_inside"] == 1 and probe["depth_after"] == 0


def test_a_disabled_block_changes_nothing(probe):
    assert min(probe["disabled"]) > 0.9 * BLOCK_MIB


@pytest.mark.parametrize("env", [{"MALLOC_MMAP_THRESHOLD_": str(2**30)},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"},
                                 {"UPTFLOW_REUSE_MEMORY": "0"}])
def test_allocator_settings_of_the_user_or_an_opt_out_switch_it_off(env: dict[str, str]) -> None:
    code = "from uptflow.utils import heap; print(heap._LIBC is None)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env},
                         check=True)
    assert res.stdout.strip() == "True"


def test_a_process_forked_during_a_block_is_not_inside_it() -> None:
    read, write = os.pipe()
    with retained_heap():
        pid = os.fork()
        if pid == 0:  # the child reports its depth and leaves at once
            os.write(write, str(heap._depth).encode())
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 8) == b"0" and heap._depth == 0
