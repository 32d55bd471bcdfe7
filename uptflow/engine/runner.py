"""mmengine ``Runner`` that can resume from its own checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7 loads checkpoints without passing
``weights_only``, and its checkpoints hold the message hub (``HistoryBuffer`` objects and numpy arrays), so
``--resume`` fails with an ``UnpicklingError``. Rather than turning the safe loader off, the runner allow-lists
exactly the types those checkpoints contain, and only while it loads a checkpoint.
"""

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import Runner

__all__ = ["UPTFlowRunner", "CHECKPOINT_SAFE_GLOBALS"]

# what the message hub of an mmengine checkpoint pickles besides tensors and builtin containers (found with
# torch.serialization.get_unsafe_globals_in_checkpoint, plus the dtype classes numpy arrays and scalars unpickle
# to); HistoryBuffer keeps bound statistics methods, which pickle as getattr(buffer, 'min'), hence getattr
CHECKPOINT_SAFE_GLOBALS = [
    HistoryBuffer, np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar, getattr,
    *(type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_)),
]


class UPTFlowRunner(Runner):
    """``Runner`` whose checkpoint loading accepts mmengine's own checkpoints with torch's safe unpickler."""

    def load_checkpoint(self, filename: str, map_location="cpu", strict: bool = False,
                        revise_keys: list = [(r"^module.", "")]):  # noqa: B006 - mmengine's signature
        """Load ``filename`` as mmengine does, with the message-hub types allow-listed."""
        with torch.serialization.safe_globals(CHECKPOINT_SAFE_GLOBALS):
            return super().load_checkpoint(filename, map_location=map_location, strict=strict,
                                           revise_keys=revise_keys)
