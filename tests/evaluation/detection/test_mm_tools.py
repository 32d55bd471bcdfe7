"""mmdet users' own entry points work on the project's configs: plain ``Config.fromfile`` resolves ``mmdet::`` bases
(the mm extra keeps pkg_resources), and the wheel's ``tools/test.py`` runs the example config whose pipeline
enhances every image with ``EnhanceLowLight``."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluation.datasets.exdark_trees import flat_dataset

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "configs" / "detection" / "yolov3_d53_exdark_608_random_enhanced-online.py"


@pytest.mark.mm
def test_plain_mmengine_loads_configs_with_packaged_bases():
    code = ("from mmengine.config import Config; "
            f"c = Config.fromfile({str(EXAMPLE)!r}); print(c.model.bbox_head.num_classes)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "12"


@pytest.mark.mm
@pytest.mark.slow
def test_the_mmdet_wheels_own_test_script_runs_the_example_config(tmp_path):
    import mmdet
    import torch
    from mmdet.apis import init_detector

    from evaluation.datasets import build_reader
    from evaluation.datasets.splits import Split
    from evaluation.detection.export import export_dataset

    ds = build_reader(dict(type="exdark", root=str(flat_dataset(tmp_path / "exdark")), split="all")).read()
    export_dataset(ds, Split("all", {"test": [s.name for s in ds.samples]}), tmp_path / "export")
    small = {"model.backbone.init_cfg": None, "load_from": None,
             "test_dataloader.dataset.pipeline.1.enhancer": dict(_delete_=True, type="gamma")}
    model = init_detector(str(EXAMPLE), None, device="cpu", cfg_options=small)
    ckpt = tmp_path / "random_yolov3.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": model.dataset_meta["classes"]}}},
               ckpt)
    data = f"{tmp_path / 'export'}/"
    options = [f"test_dataloader.dataset.data_root={data}", f"test_evaluator.1.ann_file={data}annotations/test.json",
               "test_dataloader.dataset.pipeline.1.enhancer.type=gamma",
               "test_dataloader.dataset.pipeline.1.enhancer.weights=None",
               f"test_dataloader.dataset.pipeline.1.cache_dir={tmp_path / 'cache'}",
               "test_dataloader.dataset.pipeline.2.scale=(128,128)", "test_dataloader.num_workers=0",
               "test_dataloader.persistent_workers=False"]
    tool = Path(mmdet.__file__).parent / ".mim" / "tools" / "test.py"
    res = subprocess.run([sys.executable, str(tool), str(EXAMPLE), str(ckpt), "--work-dir", str(tmp_path / "w"),
                          "--cfg-options", *options], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    out = res.stdout + res.stderr
    assert "pascal_voc/mAP" in out and "coco/bbox_mAP" in out
    assert len(list((tmp_path / "cache").rglob("*.png"))) == 3  # every test image went through the enhancer
