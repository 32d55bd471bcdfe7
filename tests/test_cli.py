"""The ``uptflow`` front door: every subcommand parses its --help; the README's command table matches; old names
and spellings still work with a deprecation message; the library's ``python -m uptflow`` stays self-contained."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import SUBCOMMANDS, main
from uptflow.cli import LIBRARY_SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _standalone_modules() -> set[str]:
    """Modules run only as ``python -m MODULE``: a ``__main__`` guard, and no ``uptflow`` subcommand of their own."""
    front_doors = {"uptflow.cli", "evaluation.cli"} | {mod for mod, _, _ in SUBCOMMANDS.values()}
    found = set()
    for pkg in ("uptflow", "evaluation"):
        for path in (ROOT / pkg).rglob("*.py"):
            if 'if __name__ == "__main__":' in path.read_text():
                found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found - front_doors


def _help_options(help_text: str) -> set[str]:
    """The long options an argparse --help lists (its option lines only, not the examples of its description)."""
    invocations = re.findall(r"^  (-\S.*?)(?: {2,}|$)", help_text, re.M)
    return {o for inv in invocations for o in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", inv)} - {"--help"}


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_help_ending_with_its_examples(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: uptflow" in out
    doc = importlib.import_module(SUBCOMMANDS[name][0]).__doc__
    examples = [line.strip() for line in doc.splitlines() if line.strip().startswith("$ ")]
    assert examples and all(e in out for e in examples)  # the module docstring's examples, unwrapped


def test_only_the_command_asked_for_imports_its_module(capsys):
    from uptflow.cli import main as library_main

    commands = {"enhance": ("uptflow.tools.enhance", "enhance images", ()),
                "ghost": ("tests.no_such_module", "a command whose module would fail to import", ())}
    with pytest.raises(SystemExit) as exc:
        library_main(["enhance", "--help"], subcommands=commands)
    assert exc.value.code == 0 and "--enhancer" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        library_main(["--help"], subcommands=commands)
    assert exc.value.code == 0 and "a command whose module would fail to import" in capsys.readouterr().out
    with pytest.raises(ModuleNotFoundError, match="tests.no_such_module"):
        library_main(["ghost"], subcommands=commands)


# the option parsers of train (--cfg-options: mmengine's DictAction) need mmengine, never torch
@pytest.mark.parametrize("cli, argv, heavy", [("evaluation.cli", ["--help"], ("torch", "mmengine")),
                                             ("uptflow.cli", ["train", "--help"], ("torch",)),
                                             ("uptflow.cli", ["enhance", "--help"], ("torch", "mmengine"))])
def test_help_of_a_command_imports_no_heavy_module(cli, argv, heavy):
    code = (f"import sys\nfrom {cli} import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_a_deprecated_command_name_builds_its_commands_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["night-traffic", "--help"])
    assert exc.value.code == 0 and "--flow-side" in capsys.readouterr().out


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


# (argv through the front door, or a standalone module's argv; the attribute the old spelling fills and its value;
# the old spelling and the new one the deprecation message names)
_RUN = "--data", "d"
_SEG = *_RUN, "--dataset", "acdc", "--config", "c.py"
OLD_SPELLINGS = [
    (["exdark-detect", *_RUN, "--checkpoint", "w.pt"], "checkpoint", "w.pt", "`uptflow exdark-detect`",
     "`uptflow detect-bench`"),
    (["night-seg", *_SEG], "data", "d", "`uptflow night-seg`", "`uptflow seg-bench`"),
    (["night-traffic", *_RUN], "data", ["d"], "`uptflow night-traffic`", "`uptflow traffic-bench`"),
    (["traffic-bench", *_RUN, "--max-frames", "3"], "limit", 3, "--max-frames", "--limit"),
    (["traffic-bench", *_RUN, "--detector-weights", "w.pt"], "checkpoint", "w.pt", "--detector-weights",
     "--checkpoint"),
    (["detect-bench", *_RUN, "--weights", "w.pt"], "checkpoint", "w.pt", "--weights", "--checkpoint"),
    (["enhance-bench", *_RUN, "--out", "o"], "work_dir", "o", "--out", "--work-dir"),
    (["enhance-bench", *_RUN, "--paired"], "dataset", "paired", "--paired", "--dataset paired"),
    (["enhance-bench", *_RUN, "--enhancer", "g", "--weights", "w.pth"], "enhancer_weights", ["w.pth"], "--weights",
     "--enhancer-weights"),
    (["enhance-bench", *_RUN, "--enhancers", "gamma,clahe"], "enhancer", ["gamma,clahe"], "--enhancers",
     "--enhancer (repeated)"),
    (["enhance", "x.png", "-o", "o"], "work_dir", "o", "-o", "--work-dir"),
    (["seg-bench", *_SEG, "--degrade-seed", "3"], "seed", 3, "--degrade-seed", "--seed"),
    (["uptflow.data.make_pairs", "--out", "o"], "work_dir", "o", "--out", "--work-dir"),
    (["evaluation.detection.train", *_RUN, "--model", "w.pt"], "checkpoint", "w.pt", "--model", "--checkpoint"),
]


@pytest.mark.parametrize("argv, dest, value, old, new", OLD_SPELLINGS, ids=[" ".join(c[0]) for c in OLD_SPELLINGS])
def test_old_spellings_still_run_the_command_and_say_so(argv, dest, value, old, new, monkeypatch, capsys):
    """The old spelling reaches the command's run() with the new option's value, and the warning names both."""
    seen = []
    name = next((k for k, (_, _, aliases) in SUBCOMMANDS.items() if argv[0] in (k, *aliases)), None)
    module = importlib.import_module(SUBCOMMANDS[name][0] if name else argv[0])
    monkeypatch.setattr(module, "run", lambda args: seen.append(args) or 0)
    assert (main(argv) if name else module.main(argv[1:])) == 0
    assert len(seen) == 1 and getattr(seen[0], dest) == value
    assert f"warning: {old} is deprecated and will be removed; use {new}" in capsys.readouterr().err


def test_make_pairs_writes_its_folder_to_work_dir_which_it_requires(tmp_path, capsys):
    from uptflow.data.make_pairs import main as make_pairs

    out = tmp_path / "pairs"
    assert make_pairs(["--skimage-photos", "coffee", "--split", "all", "--level", "3", "--work-dir", str(out)]) == 0
    assert {p.name for p in (out / "low").iterdir()} == {p.name for p in (out / "high").iterdir()} == {
        "skimage_coffee.png"}
    assert make_pairs(["--skimage-photos", "coffee", "--split", "all"]) == 2
    assert "error: --work-dir: required" in capsys.readouterr().err


def test_make_pairs_gives_light_sources_to_both_images_of_a_pair(tmp_path, capsys):
    import json

    import cv2
    import numpy as np

    from uptflow.data.make_pairs import main as make_pairs

    out = tmp_path / "pairs"
    assert make_pairs(["--skimage-photos", "coffee", "--split", "all", "--light-prob", "1", "--work-dir",
                       str(out)]) == 0
    record = json.loads((out / "degradations.jsonl").read_text())
    assert record["lights"]
    assert make_pairs(["--skimage-photos", "coffee", "--split", "all", "--work-dir", str(tmp_path / "plain")]) == 0
    lit, plain = (cv2.imread(str(d / "high" / "skimage_coffee.png")) for d in (out, tmp_path / "plain"))
    lamp = record["lights"][0]
    y, x = round(lamp["y"] * (lit.shape[0] - 1)), round(lamp["x"] * (lit.shape[1] - 1))
    assert lit[y, x].max() == 255 and not np.array_equal(lit[y, x], plain[y, x])
    with pytest.raises(SystemExit):
        make_pairs(["--skimage-photos", "coffee", "--split", "all", "--light-prob", "1.5", "--work-dir", str(out)])
    assert "--light-prob: expected a probability in [0, 1], got '1.5'" in capsys.readouterr().err
    assert make_pairs(["--skimage-photos", "coffee", "--split", "all", "--level", "3", "--light-prob", "0.5",
                       "--work-dir", str(out)]) == 2
    assert "--light-prob: a darkness level has no light sources" in capsys.readouterr().err


def test_python_dash_m_uptflow_is_the_library_cli_without_the_suite():
    res = subprocess.run([sys.executable, "-m", "uptflow", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and all(name in res.stdout for name in LIBRARY_SUBCOMMANDS)
    assert "detect-bench" not in res.stdout


def test_the_library_never_imports_the_suite():
    root = Path(__file__).resolve().parents[1] / "uptflow"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+evaluation\b", p.read_text(), re.M)]
    assert offenders == []


def test_readme_command_table_lists_every_option_of_every_command(capsys):
    """The README's table has a row for every ``uptflow`` subcommand and every ``python -m`` tool, and each row's
    options are exactly those its --help lists."""
    rows = [ln for ln in README.read_text().splitlines() if ln.startswith(("| `uptflow ", "| `python -m "))]
    subcommands = {m.group(1): r for r in rows if (m := re.match(r"\| `uptflow ([\w-]+)", r))}
    modules = {m.group(1): r for r in rows if (m := re.match(r"\| `python -m ([\w.]+)", r))}
    assert set(subcommands) == set(SUBCOMMANDS), sorted(set(SUBCOMMANDS) ^ set(subcommands))
    expected = _standalone_modules()
    assert set(modules) == expected, sorted(set(modules) ^ expected)
    runs = [(f"uptflow {name}", row, lambda name=name: main([name, "--help"])) for name, row in subcommands.items()]
    runs += [(f"python -m {mod}", row, lambda mod=mod: importlib.import_module(mod).main(["--help"]))
             for mod, row in modules.items()]
    for command, row, show_help in runs:
        with pytest.raises(SystemExit):
            show_help()
        options = _help_options(capsys.readouterr().out)
        assert options, f"no options parsed from the --help of `{command}`"
        listed = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", re.split(r"(?<!\\)\|", row)[-2]))
        assert listed == options, (f"README row of `{command}`: lacks {sorted(options - listed)}, "
                                   f"lists unknown {sorted(listed - options)}")


def test_run_all_limit_caps_every_dataset_and_never_mixes_with_full_units(tmp_path):
    """``run-all --limit N`` lowers each dataset's own limit to N; a limited dataset's units get other ids, the
    results hold only the current units, and a later full --resume reuses the full units (same ids as before)."""
    from evaluation.run_all import main as run_all
    from evaluation.suite.config import ConfigError, load_config
    from tests.evaluation.test_run_all import _frames, _write_config

    _frames(tmp_path / "frames", n=3)
    cfg = dict(suite="limit", work_dir=str(tmp_path / "work"), cache_dir=str(tmp_path / "cache"), seed=0,
               device="cpu", enhancers=[dict(name="identity", label="input"), dict(name="gamma")],
               datasets=dict(syn=dict(type="synthetic", num_images=3, size=48, title="Syn"),
                             frames=dict(type="frames", root=str(tmp_path / "frames"), limit=1, title="Frames")),
               tasks=dict(enhancement=dict(paired=["syn"], unpaired=["frames"], metrics=["PSNR"],
                                           nr_metrics=["LOE"])),
               report=dict(html=False))
    path = _write_config(tmp_path / "suite.py", cfg)
    assert {n: r.limit for n, r in load_config(path, limit=2).readers.items()} == {"syn": 2, "frames": 1}
    with pytest.raises(ConfigError, match="limit: must be >= 1"):
        load_config(path, limit=0)

    def results(*extra: str) -> pd.DataFrame:
        assert run_all(["--config", str(path), "--no-progress", *extra]) == 0
        return pd.read_csv(tmp_path / "work" / "results" / "shard-0-of-1.csv", keep_default_na=False)

    def units(rows: pd.DataFrame, dataset: str) -> set[str]:
        return set(rows[rows.dataset == dataset]["unit"])

    full = results()
    limited = results("--limit", "2", "--resume")
    assert len(units(full, "Syn")) == len(units(limited, "Syn")) == 2
    assert units(full, "Syn").isdisjoint(units(limited, "Syn"))  # 3 -> 2 images: other units
    assert units(full, "Frames") == units(limited, "Frames")  # its own limit 1 < 2: the same data, the same units
    assert set(full[full.dataset == "Syn"]["n"]) == {3} and set(limited[limited.dataset == "Syn"]["n"]) == {2}
    again = results("--resume")
    assert set(again["unit"]) == set(full["unit"]) and again["value"].tolist() == full["value"].tolist()


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_device_defaults_to_auto_wherever_a_command_takes_one(name, capsys):
    with pytest.raises(SystemExit):
        main([name, "--help"])
    help_text = capsys.readouterr().out
    if "--device" in help_text:
        assert "auto (cuda when available, else cpu)" in " ".join(help_text.split()), name


def test_auto_device_is_resolved_and_named(capsys):
    import torch

    from uptflow.cli import resolve_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert f"device: {expected}" in capsys.readouterr().err


class _Unreadable:
    """A dataset whose item 1 cannot be read, as an image file that is not one."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        if i == 1:
            raise ValueError("cannot read image /data/low/3.png:\n  not an image")
        return i


def test_an_error_in_a_data_loader_worker_is_one_line_naming_the_file(capsys):
    import torch

    from uptflow.cli import run_guarded

    def read_all(_args: object) -> int:
        list(torch.utils.data.DataLoader(_Unreadable(), num_workers=1))
        return 0

    assert run_guarded(read_all, None) == 2
    assert capsys.readouterr().err == "error: cannot read image /data/low/3.png: not an image\n"  # one line


def test_ctrl_c_during_a_command_is_one_line_and_exit_status_130(capsys, monkeypatch):
    from uptflow.cli import run_guarded

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.delenv("UPTFLOW_DEBUG", raising=False)
    assert run_guarded(interrupted, None) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted") and err.count("\n") == 1 and "Traceback" not in err


def test_a_warning_during_a_command_is_one_warning_line_without_library_source(tmp_path):
    import numpy as np

    from uptflow.utils.io import imwrite_rgb

    img = tmp_path / "in.png"
    imwrite_rgb(img, np.full((16, 16, 3), 20, np.uint8))
    res = subprocess.run([sys.executable, "-m", "uptflow", "enhance", str(img), "--work-dir", str(tmp_path / "out"),
                          "--precision", "fp16", "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "warning: precision='fp16' on the CPU" in res.stderr and "UserWarning" not in res.stderr


def test_set_values_are_literals_where_they_parse_and_labels_may_hold_dots():
    from uptflow.cli import parse_settings

    got = parse_settings(["u.v1.5.heat=0.7", "u.tile=(640, 640)", "g.gamma=1.8", "g.name={[]: 1}", "g.path=/a/b"],
                         ["u.v1.5", "u", "g"])
    assert got == {"u.v1.5": {"heat": 0.7}, "u": {"tile": (640, 640)},
                   "g": {"gamma": 1.8, "name": "{[]: 1}", "path": "/a/b"}}
    assert parse_settings(["heat=0.5"], ["uptflow"]) == {"uptflow": {"heat": 0.5}}  # one enhancer: no label needed
    with pytest.raises(ValueError, match=r"--set x.heat=1: expected LABEL.KEY=VALUE with a label from \['u', 'g'\]"):
        parse_settings(["x.heat=1"], ["u", "g"])
    with pytest.raises(ValueError, match="not a setting of the enhancer; give --cache-dir"):
        parse_settings(["u.cache_dir=/tmp"], ["u"])


@pytest.mark.parametrize("label", ["..", "../x", "/tmp/x", ".hidden", "a/b"])
def test_an_enhancer_label_that_is_not_a_plain_folder_name_is_refused(tmp_path, label):
    from evaluation.enhancement.__main__ import main as enhance_bench

    rc = enhance_bench(["--data", str(tmp_path), "--dataset", "paired", "--enhancer", f"{label}:gamma",
                        "--work-dir", str(tmp_path / "w")])
    assert rc == 2 and not (tmp_path / "w").exists()


def test_package_lists_its_lazy_exports_without_importing_torch():
    code = ("import sys, uptflow\nprint(all(n in dir(uptflow) for n in uptflow.__all__), 'torch' in sys.modules)\n"
            "print(callable(uptflow.build_enhancer), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["True False", "True True"]  # listed before use; torch comes with the first use


@pytest.mark.parametrize("argv, says", [
    (["enhance", "x", "--bogus"], "unrecognized arguments: --bogus (see `uptflow enhance --help`)"),
    (["enhance", "x", "--batch-size", "two"], "argument --batch-size: "),
    (["nope"], "argument COMMAND: invalid choice: 'nope'"),
    ([], "the following arguments are required: COMMAND (see `uptflow --help`)"),
])
def test_a_usage_mistake_is_one_error_line_pointing_to_the_help(argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ") and says in err, err
