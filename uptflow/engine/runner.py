"""mmengine ``Runner`` that resumes from its own checkpoints with torch's weights-only unpickler.

mmengine 0.10.7 loads checkpoints without passing ``weights_only`` (so torch >= 2.6 reads them weights-only), and
its checkpoints hold the message hub (``HistoryBuffer`` objects, numpy arrays and ``HistoryBuffer.<statistic>``
methods), so ``--resume`` would fail with an ``UnpicklingError``. Rather than turning the safe loader off, the
runner allow-lists exactly those types (``uptflow.utils.safe_load``), and only while it loads a checkpoint.
"""

from mmengine.runner import Runner

from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_loading

__all__ = ["UPTFlowRunner"]


class UPTFlowRunner(Runner):
    """``Runner`` whose checkpoint loading accepts mmengine's own checkpoints with torch's safe unpickler."""

    def load_checkpoint(self, filename: str, map_location="cpu", strict: bool = False,
                        revise_keys: list = [(r"^module.", "")]):  # noqa: B006 - mmengine's signature
        """Load ``filename`` as mmengine does, with the message-hub types allow-listed."""
        with safe_loading(filename, "training checkpoint", mmengine_checkpoint_globals()):
            return super().load_checkpoint(filename, map_location=map_location, strict=strict,
                                           revise_keys=revise_keys)
