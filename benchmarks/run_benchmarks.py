"""Run every benchmark script (``benchmarks/bench_*.py`` and ``enhance_speed.py``) in turn; each prints its table.

Usage:
    $ python benchmarks/run_benchmarks.py                  # all
    $ python benchmarks/run_benchmarks.py enhance tiling   # only scripts whose name contains "enhance" or "tiling"
"""

import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark scripts; return the number that failed."""
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).parent
    scripts = sorted([*here.glob("bench_*.py"), here / "enhance_speed.py"])
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        failed += subprocess.run([sys.executable, str(script)]).returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
