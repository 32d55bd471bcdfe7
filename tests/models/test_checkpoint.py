"""Checkpoints: uptflow format round trip, official layout mapping and loading, clear errors on mismatches."""

from collections import OrderedDict

import pytest
import torch

from tests.models.tiny import TINY_CONFIG, tiny_uptflow
from uptflow.models import UPTFlow, load_model, save_model
from uptflow.models.checkpoint import convert_official_state_dict, load_weights
from uptflow.models.flow import ActNorm, UPTFlowNet


def _outputs(model: UPTFlow) -> torch.Tensor:
    low = torch.rand(1, 3, 32, 40, generator=torch.Generator().manual_seed(7)) * 0.3
    with torch.no_grad():
        return model.decode(low, heat=0.0)


def test_uptflow_format_round_trip_keeps_config_weights_and_outputs(tmp_path):
    model = tiny_uptflow(window_size=8)
    path = save_model(model, tmp_path / "tiny.pth")
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "uptflow" and payload["version"] == 1 and payload["config"]["window_size"] == 8
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    torch.testing.assert_close(_outputs(loaded), _outputs(model), atol=0, rtol=0)
    assert not list(tmp_path.glob(".tiny.pth*")), "atomic write left a temporary file"


def test_actnorm_initialisation_state_survives_save_and_load(tmp_path):
    fresh = UPTFlow(window_size=5, **TINY_CONFIG)  # nothing initialised yet
    loaded = load_model(save_model(fresh, tmp_path / "fresh.pth"))
    assert not any(bool(m.initialized) for m in loaded.modules() if isinstance(m, ActNorm))
    trained = load_model(save_model(tiny_uptflow(), tmp_path / "init.pth"))
    assert all(bool(m.initialized) for m in trained.modules() if isinstance(m, ActNorm))


def test_window_size_mismatch_names_the_key(tmp_path):
    sd8 = tiny_uptflow(window_size=8).state_dict()
    model5 = UPTFlow(window_size=5, **TINY_CONFIG)
    with pytest.raises(ValueError, match=r"relative_position"):
        load_weights(model5, sd8, source="w8.pth")
    # a config that contradicts the tables is caught too
    path = save_model(tiny_uptflow(window_size=8), tmp_path / "w8.pth")
    payload = torch.load(path, weights_only=True)
    payload["config"]["window_size"] = 5
    torch.save(payload, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"relative_position_bias_table"):
        load_model(tmp_path / "bad.pth")


def test_missing_and_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_model(tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        load_model(tmp_path / "junk.pth")
    torch.save({"weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a UPT-Flow checkpoint"):
        load_model(tmp_path / "other.pth")


def test_a_device_that_cannot_be_used_is_a_one_line_error_before_loading(tmp_path, monkeypatch):
    from uptflow import build_enhancer

    save_model(tiny_uptflow(), tmp_path / "tiny.pth")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for make in (lambda d: load_model(tmp_path / "tiny.pth", device=d), lambda d: build_enhancer("gamma", device=d)):
        with pytest.raises(ValueError, match=r"^device cuda:1: torch sees no GPU \(use cpu, or auto\)$"):
            make("cuda:1")
        with pytest.raises(ValueError, match="^device gpu: .*device string"):
            make("gpu")


def test_usable_device_refuses_backends_and_gpu_numbers_this_machine_lacks(monkeypatch):
    from uptflow.utils.devices import usable_device

    assert usable_device("auto").type in ("cpu", "cuda") and usable_device(torch.device("cpu")).type == "cpu"
    assert usable_device("meta").type == "meta"  # no backend to ask
    monkeypatch.setattr(torch.mps, "is_available", lambda: False, raising=False)
    with pytest.raises(ValueError, match="^device mps: this torch has no mps device here"):
        usable_device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert usable_device("cuda:1").index == 1
    with pytest.raises(ValueError, match=r"^device cuda:2: torch sees 2 cuda device\(s\), numbered from 0$"):
        usable_device("cuda:2")


@pytest.mark.realdata
def test_official_key_list_maps_onto_our_model_one_to_one(golden):
    rows = (golden / "official_state_dict_w5.tsv").read_text().splitlines()[1:]
    official = {k: torch.empty(0) for k, _, _ in (r.split("\t") for r in rows)}
    shapes = {k: eval(s) for k, s, _ in (r.split("\t") for r in rows)}  # noqa: S307 - "(a, b)" tuples from the TSV
    mapped = convert_official_state_dict(official)
    assert len(mapped) == len(official) == 1929
    ours = UPTFlowNet().state_dict()
    flow_keys = {k for k in mapped if k.startswith("flow.")}
    assert flow_keys == {"flow." + k for k in ours if not k.endswith(".initialized")}
    for old, new in zip(official, mapped, strict=True):
        if new.startswith("flow."):
            assert tuple(ours[new[len("flow."):]].shape) == shapes[old], old


@pytest.mark.realdata
@pytest.mark.slow
def test_official_checkpoint_loads_strictly_with_window_inferred(golden):
    model = load_model(golden / "official_format_w5_seed0.pth")
    assert model.window_size == 5 and model.config["window_size"] == 5
    assert sum(p.numel() for p in model.parameters()) == 23_437_502
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(bool(m.initialized) for m in model.modules() if isinstance(m, ActNorm))


def test_half_precision_file_loads_as_float32_with_nearly_the_same_outputs(tmp_path):
    model = tiny_uptflow()
    full = save_model(model, tmp_path / "full.pth")
    half = save_model(model, tmp_path / "half.pth", dtype=torch.float16)
    stored = torch.load(half, weights_only=True)["state_dict"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    torch.testing.assert_close(_outputs(loaded), _outputs(model), atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="floating-point dtype"):
        save_model(model, tmp_path / "int.pth", dtype=torch.int8)


def test_load_model_sets_the_inference_precision(tmp_path):
    path = save_model(tiny_uptflow(), tmp_path / "w.pth")
    assert load_model(path).precision == "fp32"
    assert load_model(path, precision="bf16").precision == "bf16"
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, fp16, auto, got 'fp8'"):
        load_model(path, precision="fp8")


def test_load_model_resolves_auto_precision_and_warns_of_fp16_on_the_cpu(tmp_path, monkeypatch):
    from uptflow.utils import devices

    path = save_model(tiny_uptflow(), tmp_path / "w.pth")
    for native, expected in ((False, "fp32"), (True, "bf16")):
        monkeypatch.setattr(devices, "native_bf16", lambda device, v=native: v)
        assert load_model(path, precision="auto").precision == expected
    with pytest.warns(UserWarning, match="precision='fp16' on the CPU: .* use 'fp32' or 'auto'"):
        assert load_model(path, precision="fp16").precision == "fp16"


@pytest.fixture
def default_weights(tmp_path, monkeypatch):
    """A tiny model standing in for the shipped default model; announcements reset and recorded."""
    import threading

    import mmengine.logging

    import uptflow.models.checkpoint as checkpoint

    path = tmp_path / "assets" / "uptflow_default.pth"
    path.parent.mkdir()
    save_model(tiny_uptflow(), path, dtype=torch.float16)
    monkeypatch.setattr(checkpoint, "DEFAULT_WEIGHTS", path)
    monkeypatch.setattr(checkpoint, "_announced", threading.Event())
    messages = []
    monkeypatch.setattr(mmengine.logging, "print_log", lambda msg, **kw: messages.append(msg))
    monkeypatch.setattr(mmengine.logging.MMLogger, "_instance_dict", OrderedDict())  # no logger yet
    return path, messages


def test_load_model_without_a_path_loads_the_default_model_and_says_so_once_on_stderr(default_weights, capsys):
    path, messages = default_weights
    model = load_model()
    assert model.config["encoder_dim"] == TINY_CONFIG["encoder_dim"]
    load_model()
    out, err = capsys.readouterr()
    assert not out and not messages and len(err.splitlines()) == 1
    assert str(path) in err and "not the authors' weights" in err
    assert "docs/model-card.md" in err and "'encoder_dim': 8" in err


def test_the_default_model_note_goes_to_a_training_runs_logger(default_weights, capsys):
    import mmengine.logging

    path, messages = default_weights
    mmengine.logging.MMLogger.get_instance("a_training_run")
    load_model()
    assert len(messages) == 1 and str(path) in messages[0] and not capsys.readouterr().err


def test_missing_default_model_names_its_path(tmp_path, monkeypatch):
    import uptflow.models.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "DEFAULT_WEIGHTS", tmp_path / "nowhere" / "uptflow_default.pth")
    with pytest.raises(FileNotFoundError, match=r"nowhere/uptflow_default\.pth"):
        load_model()


def test_default_weights_constant_points_into_the_package_assets():
    from uptflow.models.checkpoint import DEFAULT_WEIGHTS

    assert DEFAULT_WEIGHTS.name == "uptflow_default.pth" and DEFAULT_WEIGHTS.parent.name == "assets"
    assert DEFAULT_WEIGHTS.parent.parent.name == "uptflow"
