"""Every registered benchmark puts each of its settings into the units' identity (``settings()``), except the
device and the settings that only choose which files a unit keeps: a setting left out would let a changed
config reuse numbers computed under the old one. Every benchmark declares the files its units write."""

import inspect

import pytest

from evaluation.benchmark import ProgressLog, file_identity
from evaluation.registry import BENCHMARKS
from evaluation.work_dirs import OWNER_FILE

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


def test_the_progress_folder_is_made_by_the_first_record(tmp_path):
    plog = ProgressLog(tmp_path, {"task": "x"})
    assert not (tmp_path / ProgressLog.folder).exists()
    plog.add("a", {"skipped": "unreadable"})
    assert ProgressLog(tmp_path, {"task": "x"}).done == {"a": {"skipped": "unreadable"}}
