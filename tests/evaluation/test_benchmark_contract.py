"""Every registered benchmark puts each of its settings into the units' identity (``settings()``), except the
device and the settings that only choose which files a unit keeps: a setting left out would let a changed
config reuse numbers computed under the old one. A folder holds the outputs of one owner (``claim_folder``)."""

import inspect
import json
import logging

import pytest

from evaluation.benchmark import OWNER_FILE, ProgressLog, claim_folder, file_identity
from evaluation.registry import BENCHMARKS

BENCHMARKS.import_from_location()  # the registry imports its modules lazily; the test needs every entry now

# the model specs the benchmarks that need one are built with (not loaded: settings() only describes them)
REQUIRED = dict(detector=dict(type="yolov8", checkpoint="yolov8n.pt"), segmenter=dict(type="espnet", checkpoint="x"))
# settings that count only when given or used get a value here (a setting missing from both fails the test)
GIVEN = dict(enhancement=dict(metrics=["PSNR", "LPIPS"], lpips_backbone="alex.pth", lpips_linear="lin.pth"),
             detection=dict(pretraining="COCO"))


@pytest.mark.parametrize("name", sorted(BENCHMARKS.module_dict))
def test_every_setting_of_a_benchmark_is_part_of_its_units_identity(name):
    cls = BENCHMARKS.get(name)
    signature = inspect.signature(cls.__init__).parameters
    required = {k: REQUIRED[k] for k, p in signature.items() if p.default is inspect.Parameter.empty and k in REQUIRED}
    settings = cls(**required, **GIVEN.get(name, {})).settings()
    missing = [p for p in signature if p not in ("self", "device", *cls.output_settings) and p not in settings]
    assert not missing, f"{name}: settings missing from settings() (the units' identity): {missing}"


def test_settings_files_are_identified_by_content_not_path(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b" / "a.json", tmp_path / "c.json"
    b.parent.mkdir()
    a.write_text('{"images": [], "categories": [], "annotations": []}')
    b.write_text('{"images": [], "categories": [], "annotations": []}')
    c.write_text('{"images": [], "categories": [{"id": 1, "name": "car"}], "annotations": []}')
    assert file_identity(a) == file_identity(b) != file_identity(c)
    traffic = BENCHMARKS.get("traffic")
    assert traffic(coco_annotations=str(a)).settings() != traffic(coco_annotations=str(c)).settings()
    assert file_identity(None) is None and "missing" in file_identity(tmp_path / "nope.json")


@pytest.mark.parametrize("name", sorted(BENCHMARKS.module_dict))
def test_every_benchmark_declares_the_files_its_units_write(name):
    outputs = BENCHMARKS.get(name).outputs
    assert "metrics.json" in outputs and len(set(outputs)) == len(outputs)
    assert ProgressLog.folder not in outputs and OWNER_FILE not in outputs  # the base class manages those


def _write(folder, *names):
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)


def test_another_owner_removes_only_what_the_previous_owner_wrote(tmp_path, caplog):
    claim_folder(tmp_path, "a", ("a.csv", "maps"))
    _write(tmp_path, "a.csv", "maps/1.png", "notes.txt")
    with caplog.at_level(logging.WARNING):
        claim_folder(tmp_path, "b", ("b.csv",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", OWNER_FILE]
    assert json.loads((tmp_path / OWNER_FILE).read_text()) == {"owner": "b", "outputs": ["b.csv"]}
    assert len(caplog.records) == 1 and "held another run's results (a.csv, maps)" in caplog.text


def test_the_same_owner_keeps_its_outputs_silently(tmp_path, caplog):
    claim_folder(tmp_path, "a", ("a.csv", "maps"))
    _write(tmp_path, "a.csv", "maps/1.png")
    with caplog.at_level(logging.WARNING):
        claim_folder(tmp_path, "a", ("a.csv", "maps"))
    assert (tmp_path / "a.csv").is_file() and (tmp_path / "maps" / "1.png").is_file() and not caplog.records


def test_a_folder_without_an_owner_record_loses_the_outputs_its_new_owner_writes(tmp_path):
    _write(tmp_path, "a.csv", "progress/old.jsonl", "notes.txt")  # e.g. written before owner records existed
    claim_folder(tmp_path, "a", ("progress", "a.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", OWNER_FILE]


def test_a_folder_whose_files_no_run_recorded_writing_is_refused_and_left_as_it_is(tmp_path):
    _write(tmp_path, "images/holiday.jpg", "summary.csv")  # a user's folder given as the work dir
    with pytest.raises(ValueError, match=r"holds images, summary.csv, which no uptflow run recorded writing"):
        claim_folder(tmp_path, "a", ("images", "summary.csv", "metrics.json"))
    assert (tmp_path / "images" / "holiday.jpg").is_file() and not (tmp_path / OWNER_FILE).exists()
    claim_folder(tmp_path / "fresh", "a", ("images",))  # a new or empty folder is simply taken
    assert (tmp_path / "fresh" / OWNER_FILE).is_file()


def test_a_comparison_keeps_its_units_and_drops_only_those_it_no_longer_runs(tmp_path):
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("x", "y"))
    for label in ("x", "y"):
        claim_folder(tmp_path / label, f"unit-{label}", ("metrics.json",))
        _write(tmp_path / label, "metrics.json")
    _write(tmp_path, "summary.csv", "y/notes.txt")
    claim_folder(tmp_path, "comparison", ("summary.csv",), units=("x", "z"))
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "x" / "metrics.json").is_file()
    assert sorted(p.name for p in (tmp_path / "y").iterdir()) == ["notes.txt"]  # what a user put there stays
    claim_folder(tmp_path, "unit", ("metrics.json",))  # one enhancer: its unit replaces the comparison
    assert sorted(p.name for p in tmp_path.iterdir()) == [OWNER_FILE, "y"]


def test_recorded_names_leading_out_of_the_folder_are_never_removed(tmp_path):
    _write(tmp_path, "outside.txt")
    (tmp_path / "unit").mkdir()
    (tmp_path / "unit" / OWNER_FILE).write_text(json.dumps({"owner": "a", "outputs": ["../outside.txt", "/"]}))
    claim_folder(tmp_path / "unit", "b", ("b.csv",))
    assert (tmp_path / "outside.txt").is_file()


def test_the_progress_folder_is_made_by_the_first_record(tmp_path):
    plog = ProgressLog(tmp_path, {"task": "x"})
    assert not (tmp_path / ProgressLog.folder).exists()
    plog.add("a", {"skipped": "unreadable"})
    assert ProgressLog(tmp_path, {"task": "x"}).done == {"a": {"skipped": "unreadable"}}
