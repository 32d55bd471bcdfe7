"""The library's command line (``python -m uptflow``): enhance, train, setup-mm; and the machinery every command of
the project shares (subcommand dispatch, one-line errors, the common option vocabulary).

The ``uptflow`` console script is the application's front door, ``evaluation.cli``: it adds the evaluation
commands to these, so the library never imports the suite.

Every subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``. A user mistake (a missing or
unreadable file, a bad value or key) ends the command with one line ``error: ...`` naming the file or key and exit
status 2, never a traceback (set ``UPTFLOW_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main", "CommandParser", "run_standalone", "run_guarded", "LIBRARY_SUBCOMMANDS", "USER_ERRORS",
           "DeprecatedOption", "add_device", "resolve_device", "add_work_dir", "work_dir", "add_cfg_options",
           "add_limit", "parse_settings", "int_at_least", "positive_int", "positive_float", "fraction",
           "score_threshold"]

# name -> (module, one-line help, deprecated aliases); modules keep heavy imports inside run()
LIBRARY_SUBCOMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "setup-mm": ("uptflow.setup_mm", "build, cache and verify mmcv with compiled ops for the installed torch", ()),
    "train": ("uptflow.tools.train", "train UPT-Flow from a config with mmengine's Runner (resumable, distributed)",
              ()),
    "enhance": ("uptflow.tools.enhance", "enhance images, folders or globs with UPT-Flow or another enhancer", ()),
}
# what a user can get wrong: files, values, keys (uptflow.registry.SettingsError is a KeyError)
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, FileNotFoundError, NotADirectoryError,
                                                IsADirectoryError, PermissionError)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")  # "ValueError: ..." ending a traceback (unindented)


def _message(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) > 1 and "Original Traceback" in text:
        # torch re-raises a DataLoader worker's error as "Caught ValueError in DataLoader worker process N." with the
        # worker's traceback in the text: the original message starts at its last unindented "Type: " line
        start = max((i for i, line in enumerate(lines) if _EXCEPTION_LINE.match(line)), default=len(lines) - 1)
        lines = [" ".join(part.strip() for part in [_EXCEPTION_LINE.sub("", lines[start]), *lines[start + 1:]])]
    first = lines[0] if lines else type(err).__name__
    return first if len(first) <= 2000 else first[:2000] + " ..."


def _show_warning(message: Warning | str, category: type, filename: str, lineno: int, file=None,  # noqa: ANN001
                  line: str | None = None) -> None:
    """A warning as one ``warning:`` line, as a user of a command reads it (``UPTFLOW_DEBUG=1``: with its source);
    above a running progress bar, not through it."""
    from tqdm import tqdm

    tqdm.write(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def run_guarded(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command; a user mistake becomes one ``error:`` line on stderr and exit status 2, Ctrl-C one line and
    status 130."""
    import warnings

    # mmengine imports pkg_resources (kept by the mm extra's setuptools<81 pin), whose deprecation notice says
    # nothing a user of these commands can act on
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    previous = warnings.showwarning
    if not os.environ.get("UPTFLOW_DEBUG"):
        warnings.showwarning = _show_warning
    try:
        return int(run(args) or 0)
    except USER_ERRORS as err:
        if os.environ.get("UPTFLOW_DEBUG"):
            raise
        print(f"error: {_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if os.environ.get("UPTFLOW_DEBUG"):
            raise
        print("interrupted (files are written atomically: what was finished is kept)", file=sys.stderr)
        return 130  # the shell's status for a command stopped by SIGINT
    finally:
        warnings.showwarning = previous


class CommandParser(argparse.ArgumentParser):
    """argparse with a usage mistake (unknown option, missing or malformed value) as one ``error:`` line and exit
    status 2, like every other user error of these commands; ``--help`` shows the usage."""

    help_command: str | None = None  # where the usage is, when not this parser's own --help

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.help_command or self.prog} --help`)\n")


def run_standalone(add_arguments: Callable[[argparse.ArgumentParser], None],
                   run: Callable[[argparse.Namespace], int | None], prog: str, doc: str | None,
                   argv: list[str] | None = None) -> int:
    """Parse ``argv`` with a subcommand's options and run it: the ``main`` of ``python -m <module>``."""
    # no abbreviated options anywhere: a prefix such as --out would reach a deprecated --output and warn about an
    # option never typed, and a prefix that fits today becomes ambiguous when an option is added
    parser = CommandParser(prog=prog, description=(doc or "").split("\n\n")[0], allow_abbrev=False,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="\n\n".join((doc or "").split("\n\n")[1:]))
    add_arguments(parser)
    return run_guarded(run, parser.parse_args(argv))


def main(argv: list[str] | None = None,
         subcommands: Mapping[str, tuple[str, str, tuple[str, ...]]] = LIBRARY_SUBCOMMANDS,
         prog: str = "uptflow", description: str = "UPT-Flow low-light enhancement: enhance images, train, build mmcv.",
         ) -> int:
    """Run a CLI made of ``subcommands`` with ``argv`` (defaults to ``sys.argv[1:]``) and return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = CommandParser(prog=prog, description=description, allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # only the command asked for imports its module (the others are listed by name and help): importing them all
    # pulled torch and mmengine into every start, `--help` included (4.3 s here)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (mod, help_, aliases) in subcommands.items():
        module = importlib.import_module(mod) if chosen in (name, *aliases) else None
        # the module docstring's paragraphs after the first (examples, notes) close the help, as run_standalone's
        p = sub.add_parser(name, help=help_, aliases=list(aliases),
                           description=help_ + (f" (also: {', '.join(aliases)}, deprecated)" if aliases else ""),
                           epilog="\n\n".join(((module and module.__doc__) or "").split("\n\n")[1:]),
                           formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
        p.set_defaults(_module=mod)
        if module is not None:
            module.add_arguments(p)
    if chosen in sub.choices:  # an unknown option reaches the top parser, whose --help would not list it
        parser.help_command = sub.choices[chosen].prog
    args = parser.parse_args(argv)
    name = args.command
    if name not in subcommands:
        canonical = next(k for k, v in subcommands.items() if name in v[2])
        print(f"warning: `{prog} {name}` is deprecated and will be removed; use `{prog} {canonical}`",
              file=sys.stderr)
    return run_guarded(importlib.import_module(args._module).run, args)


# ------------------------------------------------------------------------------------------ shared vocabulary
class DeprecatedOption(argparse.Action):
    """An old spelling of an option: warns once, then stores (or appends) into the new option's destination."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", append: bool = False,
                 **kw: Any) -> None:
        kw.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kw)
        self.new, self.append = new, append

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"warning: {option_string} is deprecated and will be removed; use {self.new}", file=sys.stderr)
        if self.nargs == 0:
            values = self.const
        if self.append:
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        else:
            setattr(namespace, self.dest, values)


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device`` (default ``auto``: CUDA when a GPU is visible, else CPU)."""
    p.add_argument("--device", default="auto", help="torch device: auto (cuda when available, else cpu), cpu, cuda, "
                                                   "cuda:1, ...")


def resolve_device(device: str, quiet: bool = False) -> str:
    """The device to use for ``--device`` (``auto`` resolved, saying which); a CUDA device without a GPU is an
    error."""
    from uptflow.utils.devices import torch_device, usable_device

    if device == "auto":
        device = torch_device("auto").type
        if not quiet:
            print(f"device: {device}" + ("" if device == "cuda" else " (no GPU visible)"), file=sys.stderr)
        return device
    try:
        usable_device(device)
    except ValueError as e:
        raise ValueError(f"--{e}") from None
    return device


def add_work_dir(p: argparse.ArgumentParser, old: tuple[str, ...] = ("--out",), what: str = "output folder") -> None:
    """``--work-dir`` (outputs; required, see :func:`work_dir`), with old spellings kept for one release."""
    p.add_argument("--work-dir", default=None, help=f"{what} (required)")
    if old:
        p.add_argument(*old, dest="work_dir", action=DeprecatedOption, new="--work-dir")


def work_dir(args: argparse.Namespace) -> Path:
    """The ``--work-dir`` given, checked to be a writable folder or creatable as one, so a command fails before any
    work rather than at its first write (argparse cannot require an option that has deprecated spellings)."""
    if not getattr(args, "work_dir", None):
        raise ValueError("--work-dir: required (the output folder)")
    path = Path(args.work_dir).expanduser()
    if os.path.lexists(path) and not path.is_dir():
        raise ValueError(f"--work-dir {path}: exists and is not a folder")
    existing = next(p for p in (path, *path.parents) if os.path.lexists(p))
    if not existing.is_dir():
        raise ValueError(f"--work-dir {path}: cannot be created, {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--work-dir {path}: cannot be written, no write permission in {existing}")
    return path


def add_cfg_options(p: argparse.ArgumentParser,
                    help: str = "override config entries, mmengine style, e.g. model.test_cfg.mode=slide") -> None:
    """``--cfg-options key=value ...`` (mmengine's DictAction; an item without ``=`` is a usage error)."""
    from mmengine.config import DictAction

    class KeyValues(DictAction):
        def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001 - argparse's signature
            bad = [v for v in values if "=" not in v]
            if bad:  # DictAction would fail with "not enough values to unpack"
                raise argparse.ArgumentError(self, f"expected KEY=VALUE items, got {bad[0]!r}")
            super().__call__(parser, namespace, values, option_string)

    p.add_argument("--cfg-options", nargs="+", action=KeyValues, default=None, metavar="KEY=VALUE", help=help)


# build_enhancer's own arguments, which a command sets with its options, never with --set
_NOT_SETTINGS = {"device": "--device", "weights": "--enhancer-weights", "cache": "--cache-dir / --no-cache",
                 "cache_dir": "--cache-dir", "spec": "--enhancer", "type": "--enhancer"}


def parse_settings(items: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--set LABEL.KEY=VALUE`` items as ``{label: {key: value}}`` (``KEY=VALUE`` where there is one label); a value
    is a Python literal where it parses as one (``1.8``, ``True``, ``(640, 640)``), else text (a path, a name)."""
    import ast

    out: dict[str, dict[str, Any]] = {label: {} for label in labels}
    for item in items:
        target, sep, value = item.partition("=")
        # the longest label the target starts with: a label may hold a dot (uptflow_heat0.7)
        label = max((lab for lab in labels if target.startswith(f"{lab}.")), key=len, default="")
        key = target[len(label) + 1:] if label else ""
        if not label and "." not in target and len(labels) == 1:
            label, key = labels[0], target
        if not sep or not key or label not in out:
            one = f"KEY=VALUE or {labels[0]}.KEY=VALUE" if len(labels) == 1 else \
                f"LABEL.KEY=VALUE with a label from {list(labels)}"
            raise ValueError(f"--set {item}: expected {one}")
        if key in _NOT_SETTINGS:
            raise ValueError(f"--set {item}: not a setting of the enhancer; give {_NOT_SETTINGS[key]}")
        try:
            out[label][key] = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # e.g. {[]: 1}: not a literal
            out[label][key] = value
    return out


def int_at_least(minimum: int) -> Callable[[str], int]:
    """argparse type of a whole number >= ``minimum``; anything else is a usage error naming the option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


# a count option (--limit, --every)
positive_int = int_at_least(1)


def _float(text: str) -> float:
    """``text`` as a float; NaN (which fails every range check) when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def positive_float(text: str) -> float:
    """argparse type of a rate (``--fps``): a finite number > 0, else a usage error naming the option."""
    value = _float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def fraction(what: str) -> Callable[[str], float]:
    """argparse type of a number in [0, 1] (``what`` names it in the usage error: "a score threshold")."""

    def parse(text: str) -> float:
        value = _float(text)
        if not 0 <= value <= 1:
            raise argparse.ArgumentTypeError(f"expected {what} in [0, 1], got {text!r}")
        return value

    parse.__doc__ = f"argparse type of {what}: a number in [0, 1], else a usage error naming the option."
    return parse


# a detection score threshold (--conf)
score_threshold = fraction("a score threshold")


def add_limit(p: argparse.ArgumentParser, what: str = "images", old: tuple[str, ...] = ()) -> None:
    """``--limit N``: only the first N inputs (quick checks)."""
    p.add_argument("--limit", type=positive_int, default=None, help=f"only the first N {what} (quick checks)")
    if old:
        p.add_argument(*old, dest="limit", type=positive_int, action=DeprecatedOption, new="--limit")


if __name__ == "__main__":
    sys.exit(main())
