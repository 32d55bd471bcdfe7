"""`uptflow setup-mm`: C++20 patching, clear errors, and an idempotent warm run."""

import subprocess
import sys

import pytest

from uptflow import setup_mm


def test_cxx_standard_is_raised_to_cxx20(tmp_path):
    (tmp_path / "setup.py").write_text("args = ['-std=c++14']\nflags = ['/std:c++17']\n")
    setup_mm._patch_cxx_standard(tmp_path)
    text = (tmp_path / "setup.py").read_text()
    assert "c++14" not in text and "c++17" not in text and text.count("c++20") == 2


def test_unexpected_mmcv_source_is_a_clear_error(tmp_path):
    (tmp_path / "setup.py").write_text("nothing to patch\n")
    with pytest.raises(setup_mm.SetupError, match="no C\\+\\+14/17 flag"):
        setup_mm._patch_cxx_standard(tmp_path)


def test_missing_compiler_is_named(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(setup_mm.SetupError, match="gcc not found"):
        setup_mm._check_compiler()


def test_failed_pip_step_names_the_build_log(tmp_path):
    log = tmp_path / "build.log"
    with pytest.raises(setup_mm.SetupError, match=str(log)):
        setup_mm._pip("install", "--no-index", "uptflow-no-such-package", log=log)
    assert "uptflow-no-such-package" in log.read_text()


def test_wheel_cache_is_keyed_by_torch_and_python(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("UPTFLOW_CACHE", str(tmp_path))
    path = setup_mm.wheel_cache_dir()
    assert path.is_dir() and path.parent == tmp_path / "wheels"
    assert torch.__version__.split("+")[0] in path.name
    assert f"py{sys.version_info.major}{sys.version_info.minor}" in path.name


@pytest.mark.mm
def test_second_run_reuses_the_installed_build():
    res = subprocess.run([sys.executable, "-m", "uptflow.setup_mm"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "nms and RoIAlign checked" in res.stdout and "building" not in res.stdout
