"""Paper rows in the result tables: shown only where our numbers are on the paper's protocol, for the methods we ran."""

from pathlib import Path

import pandas as pd
import pytest

from evaluation.suite.config import SuiteConfig, validate_config
from evaluation.suite.results import ROW_COLUMNS, row
from evaluation.tables.report import Table, build_tables

ENHANCERS = [dict(name="identity", label="input"), dict(name="clahe"), dict(name="sci", optional=True),
             dict(name="zero_dce_pp", optional=True), dict(name="uptflow", label="uptflow_lolv2_real", optional=True)]


def _cfg(tmp: Path, dataset: dict, tasks: dict) -> SuiteConfig:
    """A suite of every enhancer above and one dataset ``data`` (its folder need not hold anything)."""
    return validate_config(dict(suite="t", work_dir=str(tmp / "w"), data_root=str(tmp), enhancers=ENHANCERS,
                                datasets=dict(data=dict(root=str(tmp), **dataset)), tasks=tasks))


def _table(cfg: SuiteConfig, title: str, task: str, labels: tuple[str, ...], n: int,
           metrics: tuple[str, ...] = ("PSNR", "SSIM")) -> Table:
    """The first table built from made-up result rows of ``labels`` on dataset ``title``, ``n`` images each."""
    rows = [row(label, title, task, m, 1.0 + i, split="test", protocol="p", n=n)
            for i, label in enumerate(labels) for m in metrics]
    return build_tables(pd.DataFrame(rows, columns=ROW_COLUMNS).fillna(""), cfg)[0]


def _paper_notes(t: Table) -> list[str]:
    """The notes about paper rows (every table also names what its rows ran with)."""
    assert t.notes[0].startswith("Our rows ran with: ")
    return t.notes[1:]


def _lolv2(tmp: Path, **settings: object) -> SuiteConfig:
    return _cfg(tmp, dict(type="paired", paper_key="LOLv2-real", title="LOLv2-real", **settings),
                dict(enhancement=dict(paired=["data"])))


def _ntm(tmp: Path, task: dict, **settings: object) -> SuiteConfig:
    return _cfg(tmp, dict(type="frames", paper_key="NTM part 1", title="NTM part 1", **settings), task)


def test_paper_rows_on_the_full_split_with_their_source(tmp_path):
    t = _table(_lolv2(tmp_path), "LOLv2-real", "enhancement", ("input", "sci", "uptflow_lolv2_real"), n=100)
    assert list(t.frame.index) == ["input", "sci", "uptflow_lolv2_real", "SCI (paper)", "UPT-Flow (paper)"]
    assert t.frame.loc["UPT-Flow (paper)", ("LOLv2-real", "PSNR")] == 25.056
    assert t.frame.loc["SCI (paper)", ("LOLv2-real", "SSIM")] == 0.540
    assert any("Table 1 of Xu et al." in n and "same test split (100 images)" in n for n in t.notes)


def test_the_paper_note_says_which_weights_and_settings_our_rows_ran_with(tmp_path):
    enhancers = [dict(name="identity", label="input"), dict(name="uptflow", label="uptflow", params=dict(heat=0.8)),
                 dict(name="uptflow", label="uptflow_official", weights=str(tmp_path / "official.pth"))]
    (tmp_path / "official.pth").write_bytes(b"")
    cfg = validate_config(dict(suite="t", work_dir=str(tmp_path / "w"), data_root=str(tmp_path), enhancers=enhancers,
                               datasets=dict(data=dict(root=str(tmp_path), type="paired", paper_key="LOLv2-real",
                                                       title="LOLv2-real")),
                               tasks=dict(enhancement=dict(paired=["data"]))))
    t = _table(cfg, "LOLv2-real", "enhancement", ("input", "uptflow", "uptflow_official"), n=100)
    assert ("Our rows ran with: input: no weights; uptflow: the packaged default model (trained on synthetic low "
            "light, not the authors' weights), heat=0.8; uptflow_official: weights official.pth.") in t.notes
    assert any("Rows marked (paper)" in n for n in t.notes)
    # with the identities of the enhancers that ran: the weights' checksums and the settings as resolved
    rows = [row(label, "LOLv2-real", "enhancement", "PSNR", 1.0, split="test", protocol="p", n=100)
            for label in ("uptflow", "uptflow_official")]
    identities = {"uptflow": dict(params=dict(heat=0.8, tile="auto"), weights_sha256="0123456789abcdef"),
                  "uptflow_official": dict(params=dict(heat=0.0), weights_sha256="fedcba9876543210")}
    built = build_tables(pd.DataFrame(rows, columns=ROW_COLUMNS).fillna(""), cfg, identities)[0]
    assert ("Our rows ran with: uptflow: the packaged default model (trained on synthetic low light, not the "
            "authors' weights), SHA-256 0123456789ab, heat=0.8, tile=auto; uptflow_official: weights official.pth, "
            "SHA-256 fedcba987654, heat=0.0.") in built.notes  # the defaults too, as the enhancers resolved them


def test_paper_rows_only_for_methods_in_the_table(tmp_path):
    cfg = _lolv2(tmp_path)  # SCI and ZeroDCE++ are configured but were not run
    t = _table(cfg, "LOLv2-real", "enhancement", ("input", "clahe", "uptflow_lolv2_real"), n=100)
    assert list(t.frame.index) == ["input", "clahe", "uptflow_lolv2_real", "UPT-Flow (paper)"]
    none = _table(cfg, "LOLv2-real", "enhancement", ("input", "clahe"), n=100)
    assert list(none.frame.index) == ["input", "clahe"]
    assert not any("(paper)" in n for n in none.notes)
    assert "LOLv2-real: paper rows not shown: none of the enhancers in this table is in the paper." in none.notes


def test_rows_of_a_model_that_enhances_in_its_own_pipeline_follow_their_enhancers_config_order(tmp_path):
    cfg = _cfg(tmp_path, dict(type="exdark", title="ExDark"),
               dict(detection=dict(dataset="data", detector=dict(type="yolov8", weights="yolov8n.yaml"))))
    labels = ("input (pipeline: gamma)", "clahe", "uptflow_lolv2_real (pipeline: gamma)", "sci (pipeline: gamma)")
    t = _table(cfg, "ExDark", "detection", labels, n=8, metrics=("COCO AP",))
    assert list(t.frame.index) == ["input (pipeline: gamma)", "clahe", "sci (pipeline: gamma)",
                                   "uptflow_lolv2_real (pipeline: gamma)"]
    assert list(t.long["enhancer"].drop_duplicates()) == list(t.frame.index)


@pytest.mark.parametrize("settings, n, why", [
    (dict(limit=1), 1, "limited to 1 of 100 images"),
    ({}, 1, "1 of the paper's 100 test images scored"),  # an incomplete copy of the test set
    (dict(degrade="synthetic"), 100, "inputs darkened synthetically"),
])
def test_paper_rows_are_withheld_for_a_limited_split(tmp_path, settings, n, why):
    t = _table(_lolv2(tmp_path, **settings), "LOLv2-real", "enhancement", ("input", "sci", "uptflow_lolv2_real"), n)
    assert list(t.frame.index) == ["input", "sci", "uptflow_lolv2_real"]
    assert _paper_notes(t) == [f"LOLv2-real: paper rows not shown: {why}."]


def test_paper_note_only_when_a_paper_row_is_shown(tmp_path):
    t = _table(_lolv2(tmp_path), "LOLv2-real", "enhancement", ("input", "uptflow_lolv2_real"), n=100,
               metrics=("PSNR-GTmean", "SSIM-G11"))
    assert list(t.frame.index) == ["input", "uptflow_lolv2_real"]
    assert _paper_notes(t) == ["LOLv2-real: paper rows not shown: none of this table's metrics is the paper's "
                               "(PSNR, SSIM, LPIPS)."]


def test_ntm_paper_rows_are_withheld_for_a_limited_part(tmp_path):
    task = dict(traffic=dict(datasets=["data"], metrics=["LOE", "NIQE", "BRISQUE"]))
    labels, metrics = ("input", "zero_dce_pp", "uptflow_lolv2_real"), ("LOE", "NIQE", "BRISQUE")
    cut = _table(_ntm(tmp_path, task, limit=40), "NTM part 1", "traffic", labels, n=40, metrics=metrics)
    assert list(cut.frame.index) == list(labels)
    assert _paper_notes(cut) == ["NTM part 1: paper rows not shown: limited to 40 images."]


@pytest.mark.parametrize("task", ["traffic", "enhancement"])
def test_paper_no_reference_numbers_are_withheld_as_their_implementation_is_unknown(tmp_path, task):
    tasks = dict(traffic=dict(datasets=["data"], metrics=["LOE", "NIQE", "BRISQUE"]),
                 enhancement=dict(unpaired=["data"]))
    labels = ("input", "zero_dce_pp", "uptflow_lolv2_real")
    t = _table(_ntm(tmp_path, {task: tasks[task]}), "NTM part 1", task, labels, n=40,
               metrics=("LOE", "NIQE", "BRISQUE"))
    assert list(t.frame.index) == list(labels)
    assert len(_paper_notes(t)) == 1 and _paper_notes(t)[0].startswith(
        "NTM part 1: paper LOE, NIQE, BRISQUE numbers not shown: the paper does not say how it computed them")
