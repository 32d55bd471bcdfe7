"""The ``uptflow`` front door: every subcommand parses its --help; the README's command table matches; old names
and spellings still work with a deprecation message; the library's ``python -m uptflow`` stays self-contained."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.cli import SUBCOMMANDS, main
from uptflow.cli import LIBRARY_SUBCOMMANDS

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert "usage: uptflow" in capsys.readouterr().out


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_deprecated_subcommand_names_still_run_and_say_so(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["exdark-detect", "--help"])
    assert exc.value.code == 0


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
    """Each README table row names a command; every option its --help shows must appear in that row."""
    rows = [ln for ln in README.read_text().splitlines() if ln.startswith("| `uptflow ")]
    commands = {re.match(r"\| `uptflow ([\w-]+)", r).group(1): r for r in rows}
    assert set(commands) == set(SUBCOMMANDS), sorted(set(SUBCOMMANDS) ^ set(commands))
    for name, row in commands.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        help_text = capsys.readouterr().out
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", help_text)) - {"--help"}
        missing = sorted(o for o in options if o not in row)
        assert not missing, f"README row of `uptflow {name}` lacks {missing}"


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
