"""The ``uptflow`` entry point: every subcommand imports and parses its own --help."""

import subprocess
import sys

import pytest

from uptflow.cli import SUBCOMMANDS, main


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


def test_python_dash_m_runs_the_same_cli():
    res = subprocess.run([sys.executable, "-m", "uptflow", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and all(name in res.stdout for name in SUBCOMMANDS)
