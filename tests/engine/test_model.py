"""The training wrapper: batch preprocessing, explicit ActNorm init, loss / predict modes, fp32 flow under AMP."""


import pytest
import torch
from mmengine.structures import BaseDataElement

from tests.engine.tiny import TINY_NETWORK
from uptflow.engine.model import PairedDataPreprocessor, UPTFlowTrainer


def _batch(n=2, size=16):
    g = torch.Generator().manual_seed(0)
    gt = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)]
    return {"inputs": {"gt": gt, "low": [t // 5 for t in gt]},
            "data_samples": [BaseDataElement(metainfo=dict(name=f"im{i}")) for i in range(n)]}


def test_preprocessor_stacks_and_scales_to_unit_range():
    out = PairedDataPreprocessor()(_batch())
    assert out["inputs"]["gt"].shape == (2, 3, 16, 16) and out["inputs"]["gt"].dtype == torch.float32
    assert 0 <= out["inputs"]["low"].min() and out["inputs"]["gt"].max() <= 1
    assert out["data_samples"] == [{"name": "im0"}, {"name": "im1"}]


def test_preprocessor_explains_mixed_sizes():
    batch = _batch()
    batch["inputs"]["low"][1] = torch.zeros(3, 8, 16, dtype=torch.uint8)
    with pytest.raises(ValueError, match="batch_size=1"):
        PairedDataPreprocessor()(batch)


def test_first_training_batch_initialises_actnorm_then_loss_and_predict_work(seed):
    model = UPTFlowTrainer(dict(type="UPTFlow", **TINY_NETWORK))
    data = model.data_preprocessor(_batch(), True)
    assert not model.actnorm_initialized()
    model.train()
    loss = model(**data, mode="loss")["loss"]
    assert model.actnorm_initialized() and loss.ndim == 0 and torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        preds = model(**data, mode="predict")
    assert [p["name"] for p in preds] == ["im0", "im1"]
    assert preds[0]["pred"].shape == (3, 16, 16) and 0 <= preds[0]["pred"].min() <= preds[0]["pred"].max() <= 1


def test_unpaired_batch_cannot_train():
    model = UPTFlowTrainer(dict(type="UPTFlow", **TINY_NETWORK))
    with pytest.raises(ValueError, match="no 'gt'"):
        model({"low": torch.rand(1, 3, 16, 16)}, mode="loss")




def test_fine_tuning_starts_from_the_given_weights_with_actnorm_already_initialised(tmp_path):
    from uptflow.models.checkpoint import save_model

    source = UPTFlowTrainer(dict(type="UPTFlow", **TINY_NETWORK))
    source.train()
    source(**source.data_preprocessor(_batch(), True), mode="loss")  # initialises ActNorm from data
    save_model(source.net, tmp_path / "start.pth")
    tuned = UPTFlowTrainer(dict(type="UPTFlow", **TINY_NETWORK), weights=str(tmp_path / "start.pth"))
    assert tuned.actnorm_initialized()
    for key, value in source.net.state_dict().items():
        assert torch.equal(value, tuned.net.state_dict()[key]), key
    with pytest.raises(ValueError, match="model.weights .*start.pth: key .* has shape"):
        UPTFlowTrainer(dict(type="UPTFlow", **{**TINY_NETWORK, "hidden": 16}), weights=str(tmp_path / "start.pth"))


def test_the_default_model_fits_the_config_that_trained_it():
    from uptflow.engine.train import prepare_config

    cfg = prepare_config("configs/uptflow/uptflow_small_photo-synthetic_cpu.py", work_dir="unused",
                         cfg_options={"model.weights": "default"})
    model = UPTFlowTrainer(**{k: v for k, v in cfg.model.items() if k != "type"})
    assert model.actnorm_initialized()
