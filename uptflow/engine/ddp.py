"""Distributed data parallel on CPU processes (gloo), which mmengine 0.10.7 does not set up by itself.

mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and wraps the model with
``device_ids=[LOCAL_RANK]``; both fail without a GPU. ``uptflow train`` therefore initialises the gloo process
group itself on CPU-only machines (mmengine then skips its own initialisation) and wraps the model with
``CPUDistributedDataParallel``, which drops ``device_ids`` for CPU modules, as torch's DDP requires.
"""

import os

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

__all__ = ["CPUDistributedDataParallel", "init_cpu_process_group"]


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also accepts a model on the CPU (``device_ids`` is then ignored)."""

    def __init__(self, module: torch.nn.Module, device_ids: list[int] | None = None, **kwargs) -> None:
        on_cpu = all(p.device.type == "cpu" for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


def init_cpu_process_group() -> None:
    """Join the gloo process group described by torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR...)."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(f"--launcher pytorch needs torchrun's environment variables; missing {missing}. "
                           f"Start with: torchrun --nproc_per_node N -m uptflow train CONFIG --launcher pytorch")
    dist.init_process_group(backend="gloo")
