"""Atomic writes: a cleanup removes a dead writer's temporary file, never a live writer's nor anyone else's file."""

import subprocess
import sys

import pytest

from uptflow.utils.io import atomic_path, remove_if_abandoned

# writes into an atomic_path temporary file and waits there until killed
_WRITER = """
import sys, time
from uptflow.utils.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"partial")
    print(tmp, flush=True)
    time.sleep(600)
"""


def test_a_temporary_file_is_kept_while_its_writer_lives_and_removed_once_it_is_killed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "out.png")], stdout=subprocess.PIPE,
                            text=True)
    try:
        tmp = tmp_path / proc.stdout.readline().strip().rsplit("/", 1)[-1]
        assert tmp.is_file()
        assert not remove_if_abandoned(tmp) and tmp.is_file()  # still being written
    finally:
        proc.kill()
        proc.wait()
    assert remove_if_abandoned(tmp) and not tmp.exists()
    assert not (tmp_path / "out.png").exists()


def test_only_files_named_like_atomic_temporaries_are_ever_removed(tmp_path):
    for name in ("out.png", ".gitkeep", ".out.png.tmp"):
        (tmp_path / name).write_bytes(b"user data")
        assert not remove_if_abandoned(tmp_path / name) and (tmp_path / name).is_file()


def test_atomic_path_replaces_the_target_only_on_success(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]
