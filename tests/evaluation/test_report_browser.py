"""The HTML report renders in a real headless browser (Debian chromium): tables present, every image loads."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.suite.config import validate_config
from evaluation.suite.results import ROW_COLUMNS, row
from evaluation.tables.html import write_report
from evaluation.tables.report import build_tables, write_tables

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# appended to a copy of the page: after load, record each image's natural width in the DOM for --dump-dom
_CHECK = """<script>
window.addEventListener('load', () => {
  const out = document.createElement('pre');
  out.id = 'image-check';
  out.textContent = JSON.stringify([...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]));
  document.body.appendChild(out);
});
</script>"""


def _report(tmp: Path) -> Path:
    cfg = validate_config(dict(
        suite="browser", work_dir=str(tmp / "w"), data_root=str(tmp),
        enhancers=[dict(name="identity", label="input"), dict(name="gamma")],
        datasets=dict(ex=dict(type="exdark", root=str(tmp), title="ExDark"),
                      syn=dict(type="synthetic", title="Synthetic")),
        tasks=dict(detection=dict(dataset="ex", detector=dict(type="yolov8", checkpoint="yolov8n.yaml")),
                   enhancement=dict(paired=["syn"])),
    ))
    rows = [row(e, "ExDark", "detection", "COCO AP50", v, cls=c, split="all", protocol="yolov8n", n=8)
            for e, base in (("input", 20.0), ("gamma", 25.0)) for c, v in (("Car", base), ("People", base + 5))]
    rows += [row(e, "ExDark", "detection", "COCO AP50", v, split="all", protocol="yolov8n", n=8)
             for e, v in (("input", 22.5), ("gamma", 27.5))]
    rows += [row(e, "Synthetic", "enhancement", "PSNR", v, split="all", protocol="skimage", n=2)
             for e, v in (("input", 9.5), ("gamma", 16.1))]
    tables = build_tables(pd.DataFrame(rows, columns=ROW_COLUMNS), cfg)
    write_tables(tables, tmp / "w" / "tables")
    rng = np.random.default_rng(0)
    img = lambda: rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)  # noqa: E731
    grids = [dict(dataset="Synthetic", samples=[dict(name="a.png", input=img(), gt=img(),
                                                     outputs={"input": img(), "gamma": img()})])]
    return write_report(tmp / "w" / "report", tables, grids=grids,
                        skipped=[dict(kind="dataset", what="ACDC", reason="put the dataset at /data/ACDC")],
                        run_info=dict(suite="browser"))


def test_report_lists_tables_charts_and_grids(tmp_path):
    page = _report(tmp_path).read_text()
    assert "table-detection" in page and "table-enhancement_paired" in page
    assert "chart_detection_per_class_exdark_coco_ap50.png" in page and "grid_synthetic.png" in page
    assert "put the dataset at /data/ACDC" in page


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium); CI runs this test")
    page = _report(tmp_path)
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", _CHECK + "</body>"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2000", "--virtual-time-budget=5000",
           "--dump-dom", probe.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert "<table" in dom and "table-detection_per_class_exdark_coco_ap50" in dom
    assert "27.500" in dom and "(paper)" not in dom  # the paper has no detection numbers
    check = re.search(r'<pre id="image-check">(.*?)</pre>', dom, re.S)
    assert check, dom[-2000:]
    images = json.loads(check.group(1).replace("&quot;", '"'))
    assert len(images) == 2 and all(width > 0 for _, width in images), images
