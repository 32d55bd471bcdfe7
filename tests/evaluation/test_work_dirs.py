"""A results folder holds one run's outputs: another run's are replaced, a user's files are never removed."""

import json
import logging

import pytest

from evaluation import work_dirs
from evaluation.work_dirs import OWNER_FILE, PROGRESS, claim_folder

LOG = f"{PROGRESS}/0123456789ab.jsonl"  # a progress log as every version of uptflow names it


def _write(folder, *names):
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_another_owner_removes_only_what_the_previous_owner_wrote(tmp_path, caplog):
    claim_folder(tmp_path, "a", ("a.csv", "maps"))
    _write(tmp_path, "a.csv", "maps/1.png", "notes.txt")
    with caplog.at_level(logging.WARNING):
        claim_folder(tmp_path, "b", ("b.csv",))
    assert _names(tmp_path) == ["notes.txt", OWNER_FILE]
    assert json.loads((tmp_path / OWNER_FILE).read_text())["outputs"] == ["b.csv"]
    assert len(caplog.records) == 1 and "(a.csv, maps); they were removed" in caplog.text


def test_the_same_owner_keeps_its_outputs_silently(tmp_path, caplog):
    claim_folder(tmp_path, "a", ("a.csv", "maps"))
    _write(tmp_path, "a.csv", "maps/1.png")
    with caplog.at_level(logging.WARNING):
        claim_folder(tmp_path, "a", ("a.csv", "maps"))
    assert (tmp_path / "a.csv").is_file() and (tmp_path / "maps" / "1.png").is_file() and not caplog.records


def test_a_folder_an_earlier_version_wrote_is_started_over(tmp_path):
    _write(tmp_path, "a.csv", LOG, "notes.txt")  # written before owner records existed
    claim_folder(tmp_path, "a", (PROGRESS, "a.csv"))
    assert _names(tmp_path) == ["notes.txt", OWNER_FILE]


def test_a_unit_an_earlier_version_wrote_for_the_same_identity_resumes(tmp_path):
    _write(tmp_path, "a.csv", LOG)
    claim_folder(tmp_path, LOG.split("/")[1].removesuffix(".jsonl"), (PROGRESS, "a.csv"))  # its log: its digest
    assert _names(tmp_path) == ["a.csv", OWNER_FILE, PROGRESS]


def test_an_earlier_versions_comparison_is_recognised_by_its_units_logs(tmp_path):
    _write(tmp_path, "summary.csv", f"gamma/{LOG}", "gamma/metrics.json")
    claim_folder(tmp_path, "unit", (PROGRESS, "summary.csv"))  # rerun with one enhancer
    assert _names(tmp_path) == ["gamma", OWNER_FILE]  # a sub-folder without a record is left as it is


def test_a_kill_while_an_earlier_versions_folder_is_cleared_is_finished_by_the_next_run(tmp_path, monkeypatch):
    _write(tmp_path, "images/1.png", LOG)
    remove = work_dirs._remove

    def killed_before_the_log(folder, name):
        if name == PROGRESS:
            raise KeyboardInterrupt
        return remove(folder, name)

    monkeypatch.setattr(work_dirs, "_remove", killed_before_the_log)
    with pytest.raises(KeyboardInterrupt):
        claim_folder(tmp_path, "a", (PROGRESS, "images"))
    monkeypatch.setattr(work_dirs, "_remove", remove)
    claim_folder(tmp_path, "a", (PROGRESS, "images"))  # the log is still the mark of a run of ours
    assert _names(tmp_path) == [OWNER_FILE]


@pytest.mark.parametrize("files", [("images/holiday.jpg", "summary.csv"),
                                   ("images/holiday.jpg", "progress/notes.txt")])  # a progress/ of the user's
def test_a_folder_whose_files_no_run_recorded_writing_is_refused_and_left_as_it_is(tmp_path, files):
    _write(tmp_path, *files)
    with pytest.raises(ValueError, match=r"holds images.*, which no uptflow run recorded writing"):
        claim_folder(tmp_path, "a", ("images", "summary.csv", PROGRESS))
    assert (tmp_path / "images" / "holiday.jpg").is_file() and not (tmp_path / OWNER_FILE).exists()
    claim_folder(tmp_path / "fresh", "a", ("images",))  # a new folder is simply taken
    assert (tmp_path / "fresh" / OWNER_FILE).is_file()


@pytest.mark.parametrize("record", [{"owner": "a", "outputs": ["images"]},  # no written_by: someone else's file
                                    {"written_by": "uptflow", "owner": "a", "outputs": "im", "units": []},
                                    None, [], "{not json"])
def test_an_owner_file_that_is_not_an_uptflow_record_is_refused(tmp_path, record):
    _write(tmp_path, "images/holiday.jpg", "i", "m")
    (tmp_path / OWNER_FILE).write_text(record if isinstance(record, str) else json.dumps(record))
    with pytest.raises(ValueError, match="not an owner record written by uptflow"):
        claim_folder(tmp_path, "b", ("images",))
    assert _names(tmp_path) == ["i", "images", "m", OWNER_FILE]


def test_a_comparison_keeps_its_units_and_drops_only_those_it_no_longer_runs(tmp_path):
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("x", "y"))
    for label in ("x", "y"):
        claim_folder(tmp_path / label, f"unit-{label}", ("metrics.json",))
        _write(tmp_path / label, "metrics.json")
    _write(tmp_path, "summary.csv", "y/notes.txt")
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("x", "z"))
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "x" / "metrics.json").is_file()
    assert _names(tmp_path / "y") == ["notes.txt"]  # what a user put there stays
    claim_folder(tmp_path, "unit", ("metrics.json",))  # one enhancer: its unit replaces the comparison
    assert _names(tmp_path) == [OWNER_FILE, "y"]


def test_a_unit_folder_its_unit_never_claimed_is_never_removed(tmp_path):
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("mine",))
    _write(tmp_path, "mine/best.pth")  # the unit was refused or killed before it claimed its folder
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("clahe",))
    assert (tmp_path / "mine" / "best.pth").is_file()


def test_recorded_names_leading_out_of_the_folder_are_never_removed(tmp_path):
    _write(tmp_path, "outside.txt")
    unit = tmp_path / "unit"
    unit.mkdir()
    (unit / OWNER_FILE).write_text(json.dumps({"written_by": "uptflow", "owner": "a",
                                               "outputs": ["../outside.txt", "/"], "units": [".."]}))
    claim_folder(unit, "b", ("b.csv",))
    assert (tmp_path / "outside.txt").is_file()


def test_files_of_the_users_beside_another_commands_outputs_are_refused_not_removed(tmp_path):
    _write(tmp_path, "images/photo.png", "summary.md")  # the user's, in a folder detect-bench then used
    claim_folder(tmp_path, "detection-unit", ("gt_coco.json", "metrics.json"))
    _write(tmp_path, "gt_coco.json", "metrics.json")
    with pytest.raises(ValueError, match="holds images, summary.md, which no uptflow run recorded writing there"):
        claim_folder(tmp_path, "enhancement-unit", ("images", "summary.md", "metrics.json"))
    assert (tmp_path / "images" / "photo.png").is_file() and (tmp_path / "summary.md").is_file()
