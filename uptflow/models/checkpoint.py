"""Checkpoints: the official UPT-Flow layout and uptflow's own format, with the window size inferred.

Official layout (``torch.save`` of the network's state_dict, as released by the authors): keys ``RRDB.*`` (MSFormer
encoder, loaded into ``encoder.*`` unchanged otherwise) and ``flowUpsamplerNet.layers.N.*`` (mapped to ``flow.*``
by the explicit table below). Official files are often stored in float16; they are cast to float32.

uptflow format: ``{"format": "uptflow", "version": 1, "config": {"window_size": w, ...}, "state_dict": ...}``,
written atomically and read with ``torch.load(weights_only=True)``; the weights may be stored in float16 or bfloat16
(``save_model(..., dtype=torch.float16)``, half the file) and are always loaded as float32.

The default model (``load_model()`` without a path) is the file at :data:`DEFAULT_WEIGHTS`, shipped with uptflow:
a network trained by uptflow on synthetic low light, not the authors' weights (docs/model-card.md).
"""

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from uptflow.utils.devices import resolve_precision, usable_device
from uptflow.utils.io import atomic_path

__all__ = [
    "DEFAULT_WEIGHTS", "FORMAT_NAME", "FORMAT_VERSION", "convert_official_state_dict", "is_official_state_dict",
    "check_state_dict", "load_checkpoint", "load_model", "load_weights", "save_model", "state_sha256",
]

FORMAT_NAME = "uptflow"
FORMAT_VERSION = 1
# The default model shipped with uptflow (float16 weights in the uptflow format).
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "uptflow_default.pth"
DEFAULT_MODEL_NOTE = ("uptflow default model, trained on synthetic low light — not the authors' weights; "
                      "see docs/model-card.md")
_announced = threading.Event()  # the default model is announced once per process

_OFFICIAL_ENCODER = "RRDB."
_OFFICIAL_FLOW = re.compile(r"^flowUpsamplerNet\.layers\.(\d+)\.(.+)$")
# official coupling sub-network names -> ours (spec §3.4: fFeatures_* are N_F, fAffine_* are the couplings N_A)
_OFFICIAL_SUBNETS = {"fFeatures_1": "feat_net_1", "fAffine_1": "coupling_net_1",
                     "fFeatures_2": "feat_net_2", "fAffine_2": "coupling_net_2"}
# inside an official NN_F: nn.Sequential(Conv2d+ActNorm, ReLU, Conv2d+ActNorm, ReLU, CBAM, Conv2dZeros)
_OFFICIAL_SUBNET_PARAMS = {
    "model.0.weight": "conv_in.weight",
    "model.0.actnorm.bias": "norm_in.bias",
    "model.0.actnorm.logs": "norm_in.logs",
    "model.2.weight": "conv_hidden.weight",
    "model.2.actnorm.bias": "norm_hidden.bias",
    "model.2.actnorm.logs": "norm_hidden.logs",
    "model.4.ChannelGate.mlp.1.weight": "cbam.channel_gate.fc1.weight",
    "model.4.ChannelGate.mlp.1.bias": "cbam.channel_gate.fc1.bias",
    "model.4.ChannelGate.mlp.3.weight": "cbam.channel_gate.fc2.weight",
    "model.4.ChannelGate.mlp.3.bias": "cbam.channel_gate.fc2.bias",
    "model.4.SpatialGate.spatial.conv.weight": "cbam.spatial_gate.conv.weight",
    "model.5.weight": "conv_out.weight",
    "model.5.bias": "conv_out.bias",
    "model.5.logs": "conv_out.logs",
}
_OFFICIAL_STEP_PARAMS = {"actnorm.bias": "actnorm.bias", "actnorm.logs": "actnorm.logs",
                         "invconv.weight": "invconv.weight"}


def is_official_state_dict(sd: Mapping[str, Any]) -> bool:
    """True if ``sd`` uses the official key layout (``RRDB.*`` / ``flowUpsamplerNet.*``)."""
    return any(k.startswith(("RRDB.", "flowUpsamplerNet.")) for k in sd)


def _map_flow_key(key: str, n_unconditional: int, K: int) -> str:
    m = _OFFICIAL_FLOW.match(key)
    if m is None:
        raise KeyError(f"official checkpoint key {key!r} is neither an encoder (RRDB.*) nor a flow layer key")
    index, rest = int(m.group(1)), m.group(2)
    per_level = 1 + n_unconditional + K  # squeeze + steps; our FlowLevel keeps the same local order
    level, local = divmod(index, per_level)
    if local == 0:
        raise KeyError(f"official key {key!r} belongs to a squeeze layer, which has no parameters")
    prefix = f"flow.levels.{level}.layers.{local}."
    if rest in _OFFICIAL_STEP_PARAMS:
        return prefix + _OFFICIAL_STEP_PARAMS[rest]
    parts = rest.split(".", 2)
    if (len(parts) == 3 and parts[0] == "affine" and parts[1] in _OFFICIAL_SUBNETS
            and parts[2] in _OFFICIAL_SUBNET_PARAMS):
        return prefix + f"coupling.{_OFFICIAL_SUBNETS[parts[1]]}.{_OFFICIAL_SUBNET_PARAMS[parts[2]]}"
    raise KeyError(f"official checkpoint key {key!r}: no mapping for {rest!r}")


def convert_official_state_dict(sd: Mapping[str, torch.Tensor], n_unconditional: int = 2,
                                K: int = 8) -> dict[str, torch.Tensor]:
    """Rename official keys to ours and cast floating tensors to float32 (ActNorm flags are added at load)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key.startswith(_OFFICIAL_ENCODER):
            new = "encoder." + key[len(_OFFICIAL_ENCODER):]
        else:
            new = _map_flow_key(key, n_unconditional, K)
        out[new] = value.float() if value.is_floating_point() else value
    return out


def _read(path: str | os.PathLike) -> Any:
    from uptflow.utils.safe_load import UnsafeWeightsError, safe_torch_load

    try:
        return safe_torch_load(path, "UPT-Flow weights")
    except UnsafeWeightsError as e:
        if "references mmengine." not in str(e):
            raise
        # the runner's own checkpoint (iter_N.pth, best_psnr_iter_N.pth): say which file to use instead
        raise UnsafeWeightsError(f"{path}: a training checkpoint of `uptflow train` (optimizer and runner state), "
                                 "not a network file; use uptflow_best.pth / uptflow_final.pth of its work dir, or "
                                 f"`python -m uptflow.engine.export {path} --out FILE`") from None


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any], bool]:
    """Read a checkpoint; return (state_dict in our layout, config, is_official)."""
    obj = _read(path)
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT_NAME:
        if obj.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: uptflow checkpoint version {obj.get('version')} is not supported "
                             f"(this code reads version {FORMAT_VERSION})")
        sd = {k: v.float() if v.is_floating_point() else v for k, v in obj["state_dict"].items()}
        return sd, dict(obj.get("config", {})), False
    if isinstance(obj, Mapping) and "params" in obj and isinstance(obj["params"], Mapping):
        obj = obj["params"]  # BasicSR/LLFlow-style wrapper some releases use
    if isinstance(obj, Mapping) and is_official_state_dict(obj):
        return convert_official_state_dict(obj), {}, True
    raise ValueError(f"{path}: not a UPT-Flow checkpoint (neither the uptflow format nor the official "
                     f"RRDB.* / flowUpsamplerNet.* layout)")


def _infer_window_size(sd: Mapping[str, torch.Tensor], path: str | os.PathLike) -> int:
    from uptflow.models.encoder import infer_window_size

    enc = {k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}
    try:
        return int(infer_window_size(enc))
    except Exception as e:  # noqa: BLE001 - re-raise with the file name
        raise ValueError(f"{path}: cannot infer the window size from the encoder weights: {e}") from e


def load_weights(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], source: str = "checkpoint",
                 mark_actnorm_initialized: bool = False) -> None:
    """Load ``sd`` (our layout) strictly into ``model``; mismatches raise an error naming the key.

    Args:
        model: the network.
        sd: state dict in uptflow's layout.
        source: name of where ``sd`` came from, for error messages.
        mark_actnorm_initialized: add ``initialized = True`` for every ActNorm ``sd`` lacks (official weights).
    """
    sd = dict(sd)
    if mark_actnorm_initialized:
        for k in model.state_dict():
            if k.endswith(".initialized") and k not in sd:
                sd[k] = torch.tensor(True)
    check_state_dict(model, sd, source)
    model.load_state_dict(sd, strict=True)


def check_state_dict(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise a KeyError (missing / unexpected keys) or ValueError (shape) naming the key where ``sd`` misfits."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        raise KeyError(f"{source}: {len(missing)} missing key(s) {missing[:5]}, {len(unexpected)} unexpected "
                       f"key(s) {unexpected[:5]}")
    window = getattr(model, "window_size", None)
    if window is not None:
        from uptflow.models.encoder import check_window_size

        try:
            check_window_size({k: v for k, v in sd.items() if k.startswith("encoder.")}, window)
        except ValueError as e:
            raise ValueError(f"{source}: {e} (the model was built with window size {window})") from e
    for k, v in sd.items():
        if tuple(v.shape) != tuple(own[k].shape):
            hint = ""
            if "relative_position" in k:
                hint = " (the checkpoint was made for another window size than the model's" + (
                    f" {window})" if window is not None else ")")
            raise ValueError(f"{source}: key {k!r} has shape {tuple(v.shape)} in the checkpoint but "
                             f"{tuple(own[k].shape)} in the model{hint}")


def _default_weights() -> Path:
    path = DEFAULT_WEIGHTS
    if not Path(path).is_file():
        raise FileNotFoundError(f"the uptflow default model is not installed: {path} does not exist. Put the file "
                                f"there, or pass the path of an official UPT-Flow or uptflow checkpoint.")
    return Path(path)


def _announce_default(path: Path, config: dict[str, Any]) -> None:
    if _announced.is_set():
        return
    _announced.set()
    from mmengine.logging import MMLogger, print_log

    note = f"UPT-Flow weights: {path} (config {config}): {DEFAULT_MODEL_NOTE}"
    # within a training run mmengine's logger (and its log file) takes the note; elsewhere print_log would create a
    # logger writing to stdout, among a command's results, so the note goes to stderr like every other diagnostic
    if MMLogger._instance_dict:  # what MMLogger.get_current_instance itself checks
        print_log(note, logger="current", level=logging.INFO)
    else:
        print(note, file=sys.stderr)


def load_model(path: str | os.PathLike | None = None, device: str | torch.device = "cpu", precision: str = "fp32",
               compile: bool = False, **overrides: Any):
    """Build a UPTFlow network from an official or uptflow checkpoint (window size inferred) in eval mode.

    Args:
        path: checkpoint file; None for the default model (:data:`DEFAULT_WEIGHTS`, announced once per process).
        device: where the network goes.
        precision: "fp32", "bf16", "fp16" or "auto" (bf16 where the device computes it in hardware, else fp32):
            how the encoder and the coupling sub-networks run (see ``UPTFlow.precision``); the weights are float32
            in all cases. A precision the device would emulate slowly warns.
        compile: run the encoder of inference passes through ``torch.compile`` (``UPTFlow.compiled``).
        **overrides: constructor arguments that replace the checkpoint's config.
    """
    from uptflow.models.uptflow import UPTFlow

    device = usable_device(device)
    default = path is None
    if default:
        path = _default_weights()
    sd, config, official = load_checkpoint(path)
    window = _infer_window_size(sd, path)
    if "window_size" in config and int(config["window_size"]) != window:
        key = next(k for k in sd if "relative_position_bias_table" in k)
        raise ValueError(f"{path}: config says window_size={config['window_size']} but key {key!r} has shape "
                         f"{tuple(sd[key].shape)}, i.e. window size {window}")
    config = {**config, "window_size": window, **overrides}
    model = UPTFlow(**config)
    load_weights(model, sd, source=str(path), mark_actnorm_initialized=official)
    model.precision = resolve_precision(precision, device)
    model.compiled = compile
    if default:
        _announce_default(Path(path), config)
    return model.to(device).eval()


def state_sha256(model: torch.nn.Module) -> str:
    """SHA-256 of a network's parameters and buffers (names, dtypes, shapes, values): the identity of a network that
    came as an object rather than a file."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name} {t.dtype} {tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_model(model: torch.nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """Save ``model`` (a UPTFlow) in the uptflow format, atomically; return the path.

    Args:
        model: the network.
        path: output file.
        dtype: store the floating-point weights in this dtype (``torch.float16``: half the file; the loader casts
            back to float32); None keeps them as they are.
    """
    if dtype is not None and not dtype.is_floating_point:
        raise ValueError(f"save_model: dtype must be a floating-point dtype such as torch.float16, got {dtype}")
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    payload = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "config": dict(model.config), "state_dict": state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path
