"""Opt-in ``torch.compile`` of the encoder: which passes use it, and what it leaves unchanged."""

import copy

import numpy as np
import pytest
import torch

from tests.models.tiny import tiny_uptflow
from uptflow.cli import main
from uptflow.models import save_model
from uptflow.models.tiling import tiled_apply
from uptflow.utils.io import imread_rgb, imwrite_rgb


def _spy(model):
    """Replace the compiled encoder by an eager one that counts its calls (nothing is compiled)."""
    calls = []

    def encoder(*args):
        calls.append(1)
        return model.encoder(*args)

    model._compiled_encoder = encoder
    return calls


def test_compiled_encoder_runs_inference_passes_and_never_training_or_shared_tile_statistics():
    model = tiny_uptflow()
    keys = list(model.state_dict())
    model.compiled = True
    assert model.compiled and list(model.state_dict()) == keys  # checkpoints keep their keys
    calls = _spy(model)
    assert copy.deepcopy(model)._compiled_encoder is None  # a copy compiles its own encoder, not this one's
    low = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0)) * 0.3
    model.enhance(low)
    assert len(calls) == 1
    model.nll((low * 3).clamp(0, 1), low)  # autograd: eager
    tiled_apply(lambda t: model.enhance(t), low, tile=32, overlap=8, share_statistics=True)
    assert len(calls) == 1
    tiles = []
    tiled_apply(lambda t: model.enhance(t), low, tile=32, overlap=8, share_statistics=False,
                progress=lambda done, total: tiles.append(done))
    assert len(tiles) > 1 and len(calls) == 1 + len(tiles)  # tile-local pools: every tile uses the compiled encoder
    model.compiled = False
    assert not model.compiled and model._compiled_encoder is None


@pytest.mark.slow
def test_enhance_with_compile_gives_the_eager_output(tmp_path):
    weights = save_model(tiny_uptflow(), tmp_path / "w.pth")
    imwrite_rgb(tmp_path / "in" / "a.png", (np.random.default_rng(0).random((48, 64, 3)) * 80).astype(np.uint8))
    outs, graphs = {}, {}
    for name, extra in (("eager", []), ("compiled", ["--compile"])):
        before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
        assert main(["enhance", str(tmp_path / "in"), "--work-dir", str(tmp_path / name), "--enhancer-weights",
                     str(weights), "--tile", "0", *extra]) == 0
        graphs[name] = torch._dynamo.utils.counters["stats"]["unique_graphs"] - before
        outs[name] = imread_rgb(tmp_path / name / "a.png").astype(int)
    assert graphs == {"eager": 0, "compiled": 1}  # one whole graph, no fallback to eager
    assert np.abs(outs["compiled"] - outs["eager"]).max() <= 1  # uint8 levels: kernels round differently
