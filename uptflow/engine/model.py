"""mmengine wrapper around the UPTFlow network: NLL training step, heat-0 validation step, batch preprocessing."""

from typing import Any

import torch
from mmengine.dist import broadcast, get_world_size
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import nn

from uptflow.registry import MODELS

__all__ = ["PairedDataPreprocessor", "UPTFlowTrainer"]


@MODELS.register_module()
class PairedDataPreprocessor(BaseDataPreprocessor):
    """Stack the packed uint8 [3, H, W] images of a batch into float [B, 3, H, W] in [0, 1] on the model's device.

    Each sample's metadata (a ``BaseDataElement`` from ``PackPairedInputs``) becomes a plain dict.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``{'inputs': {'low': Tensor, 'gt': Tensor?}, 'data_samples': list[dict]}``."""
        inputs = {}
        for key, images in data["inputs"].items():
            shapes = {tuple(t.shape) for t in images}
            if len(shapes) > 1:
                raise ValueError(f"images of one batch must share a size to be stacked, got {sorted(shapes)} for "
                                 f"{key!r}: crop them to one size or use batch_size=1 (validation on full images)")
            inputs[key] = self.cast_data(torch.stack(list(images))).float().div_(255.0)
        samples = data.get("data_samples") or [None] * len(next(iter(inputs.values())))
        return {"inputs": inputs, "data_samples": [dict(s.metainfo) if s is not None else {} for s in samples]}


@MODELS.register_module()
class UPTFlowTrainer(BaseModel):
    """Train UPT-Flow by its conditional NLL (bits per pixel) and validate it by heat-0 enhancement.

    ActNorm layers are initialised explicitly from the first training batch (spec §7.17), and the result is
    broadcast from rank 0 so every process starts from the same weights.

    Args:
        network: config of the network (``dict(type='UPTFlow', window_size=5, ...)``) or the module itself.
        heat: latent temperature of the validation decode (0 in the paper).
        weights: start from these network weights (fine-tuning): an official or uptflow checkpoint, or
            ``"default"`` for the model shipped in the package; the network config must match them. A resumed run
            continues from its own checkpoint instead.
        data_preprocessor: config of the preprocessor. Defaults to :class:`PairedDataPreprocessor`.
        init_cfg: mmengine weight-init config (unused by default: the network initialises itself).
    """

    def __init__(self, network: dict | nn.Module, heat: float = 0.0, weights: str | None = None,
                 data_preprocessor: dict | nn.Module | None = None, init_cfg: dict | None = None) -> None:
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor or dict(type="PairedDataPreprocessor"))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.net = MODELS.build(network) if isinstance(network, dict) else network
        for name in ("nll", "enhance", "init_actnorm"):
            if not callable(getattr(self.net, name, None)):
                raise TypeError(f"network {type(self.net).__name__} has no {name}() method; UPTFlowTrainer needs "
                                f"the UPTFlow API (nll, enhance, init_actnorm)")
        # under AMP only the encoder uses fp16: UPTFlowNet turns autocast off itself (spec §7.15)
        self.heat = float(heat)
        if weights is not None:
            from uptflow.models.checkpoint import DEFAULT_WEIGHTS, load_checkpoint, load_weights

            path = DEFAULT_WEIGHTS if weights == "default" else weights
            sd, _, official = load_checkpoint(path)
            load_weights(self.net, sd, source=f"model.weights {path}", mark_actnorm_initialized=official)

    def actnorm_initialized(self) -> bool:
        """Whether every ActNorm of the network has its data-dependent initialisation (buffer ``initialized``)."""
        flags = [m.initialized for m in self.net.modules() if isinstance(getattr(m, "initialized", None),
                                                                          torch.Tensor)]
        return bool(flags) and all(bool(f) for f in flags)

    @torch.no_grad()
    def _init_actnorm(self, gt: torch.Tensor, low: torch.Tensor) -> None:
        self.net.init_actnorm(gt, low)
        if get_world_size() > 1:
            for m in self.net.modules():
                if isinstance(getattr(m, "initialized", None), torch.Tensor):
                    for t in [*m.parameters(recurse=False), *m.buffers(recurse=False)]:
                        broadcast(t, src=0)

    def forward(self, inputs: dict, data_samples: list[dict] | None = None, mode: str = "tensor") -> Any:
        """``mode='loss'``: ``{'loss': mean NLL}``; ``'predict'``: per-sample dicts with the enhanced image;
        ``'tensor'``: the enhanced batch [B, 3, H, W]."""
        low = inputs["low"]
        if mode == "loss":
            if "gt" not in inputs:
                raise ValueError("training needs paired data: the batch has no 'gt' images")
            if self.training and not self.actnorm_initialized():
                self._init_actnorm(inputs["gt"], low)
            return {"loss": self.net.nll(inputs["gt"], low, dequantize=True).mean()}
        out = self.net.enhance(low, heat=self.heat)
        if mode == "tensor":
            return out
        if mode != "predict":
            raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
        samples = data_samples or [{} for _ in range(len(out))]
        results = []
        for i, meta in enumerate(samples):
            item = dict(meta, pred=out[i].detach(), low=low[i].detach())
            if "gt" in inputs:
                item["gt"] = inputs["gt"][i].detach()
            results.append(item)
        return results
