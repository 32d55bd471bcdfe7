"""Run every ``benchmarks/bench_*.py`` script in turn; each prints its own table.

Usage:
    $ python benchmarks/run_benchmarks.py            # all
    $ python benchmarks/run_benchmarks.py uptflow    # only scripts whose name contains "uptflow"
"""

import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark scripts; return the number that failed."""
    argv = sys.argv[1:] if argv is None else argv
    scripts = sorted(Path(__file__).parent.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        failed += subprocess.run([sys.executable, str(script)]).returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
