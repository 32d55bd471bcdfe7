"""Build, cache, install and verify mmcv 2.1.0 with compiled ops for the installed torch.

The package registry only has mmcv's source, and that source asks for C++14/17, which torch >= 2.4's
headers no longer compile with. This command builds it once per machine with C++20 (CPU ops; CUDA ops
too when nvcc and a GPU are present), caches the wheel under ``~/.cache/uptflow/wheels/`` keyed by
torch version and device, installs it, then proves it by running ``mmcv.ops.nms`` and ``RoIAlign``.

Usage:
    $ uptflow setup-mm            # or: python -m uptflow.setup_mm
    $ uptflow setup-mm --rebuild  # ignore the cached wheel
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from uptflow.cli import run_standalone
from uptflow.utils.paths import cache_dir

__all__ = ["MMCV_VERSION", "wheel_cache_dir", "verify_ops", "ensure_mmcv", "add_arguments", "run", "main"]

MMCV_VERSION = "2.1.0"
# setuptools >= 70 removed the distutils pieces mmcv 2.1's setup.py imports
_BUILD_TOOLS = ["setuptools<70", "wheel", "ninja"]


class SetupError(RuntimeError):
    """The mmcv build or install failed; the message names the log file."""


def _torch_tag() -> tuple[str, bool]:
    import torch

    with_cuda = bool(torch.version.cuda) and torch.cuda.is_available() and shutil.which("nvcc") is not None
    dev = f"cu{torch.version.cuda.replace('.', '')}" if with_cuda else "cpu"
    return f"torch{torch.__version__.split('+')[0]}-{dev}-py{sys.version_info.major}{sys.version_info.minor}", with_cuda


def wheel_cache_dir() -> Path:
    """Folder holding the cached mmcv wheel for this torch / device / python combination."""
    tag, _ = _torch_tag()
    return cache_dir("wheels", f"mmcv-{MMCV_VERSION}-{tag}")


def verify_ops() -> str:
    """Run mmcv.ops.nms and RoIAlign on tiny inputs in a fresh interpreter; return mmcv's version or raise."""
    code = (
        "import torch, mmcv\n"
        "from mmcv.ops import nms, RoIAlign\n"
        "boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])\n"
        "scores = torch.tensor([0.9, 0.8, 0.7])\n"
        "dets, keep = nms(boxes, scores, 0.5)\n"
        "assert keep.tolist() == [0, 2], keep\n"
        "feat = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)\n"
        "rois = torch.tensor([[0., 0., 0., 4., 4.]])\n"
        "out = RoIAlign((2, 2), 1.0, 2)(feat, rois)\n"
        "assert out.shape == (1, 1, 2, 2) and torch.isfinite(out).all()\n"
        "print(mmcv.__version__)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError(f"mmcv ops check failed:\n{res.stderr.strip()[-2000:]}")
    return res.stdout.strip()


def _pip(*args: str, log: Path | None = None, env: dict | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    if log is None:
        subprocess.run(cmd, check=True, env=env)
        return
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0:
        raise SetupError(f"`{' '.join(cmd[2:5])} ...` failed (exit {res.returncode}); see the build log {log}")


def _patch_cxx_standard(src: Path) -> None:
    setup_py = src / "setup.py"
    text = setup_py.read_text()
    patched = re.sub(r"c\+\+1[47]", "c++20", text)
    if patched == text:
        raise SetupError(f"{setup_py}: no C++14/17 flag found to raise to C++20; mmcv's source changed")
    setup_py.write_text(patched)


def _check_compiler() -> None:
    for tool in ("gcc", "g++"):
        if shutil.which(tool) is None:
            raise SetupError(f"{tool} not found: install a C++ compiler (e.g. `apt-get install build-essential`)")
    import sysconfig

    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.is_file():
        raise SetupError(f"Python headers not found ({include}): install the python3-dev package for this Python")


def build_wheel(out_dir: Path, jobs: int) -> Path:
    """Download mmcv's source from the registry, patch it to C++20 and build a wheel into ``out_dir``."""
    _check_compiler()
    _, with_cuda = _torch_tag()
    work = Path(tempfile.mkdtemp(prefix="uptflow-mmcv-"))
    log = out_dir / "build.log"
    log.write_text(f"mmcv {MMCV_VERSION} build, {time.ctime()}\n")
    print(f"building mmcv {MMCV_VERSION} from source ({'CUDA' if with_cuda else 'CPU'} ops, {jobs} jobs); "
          f"log: {log}", flush=True)
    # the old setuptools goes first on PYTHONPATH, for every step that runs mmcv's setup.py
    tools = work / "buildtools"
    _pip("install", "--quiet", "--target", str(tools), *_BUILD_TOOLS, log=log)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tools), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([str(tools / "bin"), env.get("PATH", "")])
    _pip("download", "--no-deps", "--no-build-isolation", "--no-binary", ":all:", f"mmcv=={MMCV_VERSION}",
         "-d", str(work), log=log, env=env)
    sdist = next(work.glob("mmcv-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        tf.extractall(work, filter="data")
    src = next(p for p in work.iterdir() if p.is_dir() and p.name.startswith("mmcv-"))
    _patch_cxx_standard(src)
    env.update(MMCV_WITH_OPS="1", MAX_JOBS=str(jobs), FORCE_CUDA="1" if with_cuda else "0")
    if not with_cuda:
        env["CUDA_VISIBLE_DEVICES"] = ""
    tmp_out = out_dir / "partial"
    shutil.rmtree(tmp_out, ignore_errors=True)
    _pip("wheel", "--no-build-isolation", "--no-deps", "-w", str(tmp_out), str(src), log=log, env=env)
    wheel = next(tmp_out.glob("mmcv-*.whl"))
    final = out_dir / wheel.name
    os.replace(wheel, final)  # the cache only ever holds complete wheels
    shutil.rmtree(tmp_out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return final


def ensure_mmcv(rebuild: bool = False, jobs: int | None = None) -> str:
    """Make ``import mmcv.ops`` work for this torch: reuse, install from cache, or build. Return mmcv's version."""
    if not rebuild:
        try:
            return verify_ops()
        except SetupError:
            pass
    out_dir = wheel_cache_dir()
    wheels = sorted(out_dir.glob("mmcv-*.whl"))
    if rebuild or not wheels:
        wheels = [build_wheel(out_dir, jobs or max(1, os.cpu_count() or 1))]
    else:
        print(f"using cached wheel {wheels[-1]}", flush=True)
    _pip("install", "--quiet", "--force-reinstall", "--no-deps", str(wheels[-1]))
    # mmcv's own pure-Python requirements (all light); installed without touching torch
    _pip("install", "--quiet", "addict", "packaging", "pyyaml", "yapf", "mmengine>=0.3.0")
    return verify_ops()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the setup-mm options to ``parser``."""
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached wheel and build again")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: all cores)")


def run(args: argparse.Namespace) -> int:
    """Run setup-mm with parsed ``args``; return the exit code."""
    t0 = time.time()
    try:
        version = ensure_mmcv(rebuild=args.rebuild, jobs=args.jobs)
    except SetupError as e:
        print(f"uptflow setup-mm: {e}", file=sys.stderr)
        return 1
    print(f"mmcv {version} with compiled ops is ready (nms and RoIAlign checked) in {time.time() - t0:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m uptflow.setup_mm``."""
    return run_standalone(add_arguments, run, "python -m uptflow.setup_mm", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
