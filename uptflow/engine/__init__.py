"""Training UPT-Flow with mmengine's Runner: model wrapper, safe optimizer wrappers, hooks, metric, config
preparation (the ``uptflow train`` command is ``uptflow.tools.train``).

Importing this package registers everything in ``uptflow.registry`` and the ``atomic_local`` file backend.
"""

from uptflow.engine.atomic_backend import AtomicLocalBackend
from uptflow.engine.ddp import CPUDistributedDataParallel
from uptflow.engine.hooks import ExportModelHook, ProgressBarHook, RNGStateHook, unwrap
from uptflow.engine.metric import EnhancementMetric, tensor_to_uint8
from uptflow.engine.model import PairedDataPreprocessor, UPTFlowTrainer
from uptflow.engine.optim import NonFiniteLossError, SafeAmpOptimWrapper, SafeBf16OptimWrapper, SafeOptimWrapper
from uptflow.engine.runner import UPTFlowRunner

__all__ = [
    "AtomicLocalBackend", "CPUDistributedDataParallel", "ExportModelHook", "ProgressBarHook", "RNGStateHook",
    "unwrap", "EnhancementMetric", "tensor_to_uint8", "PairedDataPreprocessor", "UPTFlowTrainer",
    "NonFiniteLossError", "SafeAmpOptimWrapper", "SafeBf16OptimWrapper", "SafeOptimWrapper", "UPTFlowRunner",
]
