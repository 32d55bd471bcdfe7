"""``uptflow cache list|clear``: what the enhanced-image cache holds, and removing it.

Examples:
    $ uptflow cache list                         # one line per enhancer identity: key, name, params, images, size
    $ uptflow cache clear --key clahe-0123abcd   # remove one enhancer's images
    $ uptflow cache clear --all --yes            # remove every cached image
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from uptflow.cli import run_standalone

__all__ = ["add_arguments", "run", "cache_entries", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``uptflow cache``."""
    p.add_argument("action", choices=["list", "clear"], help="list the cache, or clear entries from it")
    p.add_argument("--cache-dir", default=None, help="cache root (default ~/.cache/uptflow/enhanced)")
    p.add_argument("--key", action="append", default=[], help="entry to clear (repeatable; see `uptflow cache list`)")
    p.add_argument("--all", action="store_true", help="clear every entry")
    p.add_argument("--yes", action="store_true", help="do not ask before clearing everything")


def _root(cache_dir: str | None) -> Path:
    from uptflow.utils.paths import cache_dir as default

    return Path(cache_dir).expanduser() if cache_dir else default("enhanced")


def cache_entries(root: Path) -> list[dict]:
    """Every cache entry under ``root``: a folder with the ``enhancer.json`` the cache writes."""
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        meta = d / "enhancer.json"
        if not meta.is_file():
            continue
        ident = json.loads(meta.read_text(encoding="utf-8"))
        files = [f for f in d.rglob("*.png") if f.is_file()]
        out.append(dict(key=d.name, name=ident.get("name"), params=ident.get("params"),
                        weights_sha256=(ident.get("weights_sha256") or "")[:12], images=len(files),
                        mb=round(sum(f.stat().st_size for f in files) / 2**20, 1), path=str(d)))
    return out


def run(args: argparse.Namespace) -> int:
    """List or clear; returns 0."""
    root = _root(args.cache_dir)
    entries = cache_entries(root)
    if args.action == "list":
        if not entries:
            print(f"{root}: empty")
            return 0
        import pandas as pd

        print(pd.DataFrame(entries).drop(columns="path").to_markdown(index=False))
        print(f"{len(entries)} entries, {sum(e['mb'] for e in entries):.1f} MB in {root}")
        return 0
    if not args.key and not args.all:
        raise ValueError("cache clear: say what to clear (--key KEY, repeatable, or --all)")
    by_key = {e["key"]: e for e in entries}
    unknown = [k for k in args.key if k not in by_key]
    if unknown:
        raise KeyError(f"--key: no cache entry {unknown[0]!r} in {root} (see `uptflow cache list`)")
    chosen = entries if args.all else [by_key[k] for k in args.key]
    if args.all and not args.yes:
        if not sys.stdin.isatty():
            raise ValueError(f"--all: would remove {len(chosen)} entries from {root}; confirm with --yes (no "
                             "terminal to ask)")
        answer = input(f"remove {len(chosen)} entries ({sum(e['mb'] for e in chosen):.1f} MB) from {root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 0
    for e in chosen:
        shutil.rmtree(e["path"])
        print(f"removed {e['key']} ({e['images']} images, {e['mb']} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m evaluation.cache_cli``."""
    return run_standalone(add_arguments, run, "uptflow cache", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
