"""mmengine ``Runner`` that resumes from its own checkpoints with torch's weights-only unpickler.

mmengine 0.10.7 loads checkpoints without passing ``weights_only`` (so torch >= 2.6 reads them weights-only), and
its checkpoints hold the message hub (``HistoryBuffer`` objects, numpy arrays and ``HistoryBuffer.<statistic>``
methods), so ``--resume`` would fail with an ``UnpicklingError``. Rather than turning the safe loader off, the
runner allow-lists exactly those types (``uptflow.utils.safe_load``), and only while it loads a checkpoint.

``--resume`` without a file resumes from the newest checkpoint of the work dir that can be read: a run killed while
writing, or a damaged disk, leaves a latest checkpoint that cannot be loaded, and losing every earlier iteration
to it would be worse than resuming from the one before (a warning names the file skipped and why).
"""

import re
from pathlib import Path

from mmengine.runner import Runner, find_latest_checkpoint

from uptflow.models.checkpoint import check_state_dict
from uptflow.utils.safe_load import mmengine_checkpoint_globals, safe_loading, safe_torch_load

_CHECKPOINT = re.compile(r"^(?:iter|epoch)_(\d+)\.pth$")

__all__ = ["UPTFlowRunner"]


class UPTFlowRunner(Runner):
    """``Runner`` whose checkpoint loading accepts mmengine's own checkpoints with torch's safe unpickler."""

    def load_checkpoint(self, filename: str, map_location="cpu", strict: bool = False,
                        revise_keys: list = [(r"^module.", "")]):  # noqa: B006 - mmengine's signature
        """Load ``filename`` as mmengine does, with the message-hub types allow-listed."""
        with safe_loading(filename, "training checkpoint", mmengine_checkpoint_globals()):
            return super().load_checkpoint(filename, map_location=map_location, strict=strict,
                                           revise_keys=revise_keys)

    def resume(self, filename: str, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - mmengine's signature
        """Resume as mmengine does, once the checkpoint is known to hold this config's network (mmengine loads it
        non-strictly and fails later in the optimizer, after hundreds of size-mismatch lines)."""
        state = safe_torch_load(filename, "training checkpoint", mmengine_checkpoint_globals()).get("state_dict", {})
        try:
            check_state_dict(getattr(self.model, "module", self.model), state, filename)
        except (KeyError, ValueError) as err:
            raise ValueError(f"{err.args[0]}: made by another network than this config's; resume with the config "
                             "and --cfg-options the run was started with, or start a fresh run in another "
                             "--work-dir") from err
        super().resume(filename, *args, **kwargs)

    def load_or_resume(self) -> None:
        """Load or resume as mmengine does; an automatic resume skips checkpoints that cannot be read."""
        if self._resume and self._load_from is None and not self._has_loaded:
            self._load_from = self.newest_intact_checkpoint()
            if self._load_from is not None:
                self.logger.info(f"Auto resumed from the newest readable checkpoint {self._load_from}.")
            else:  # mmengine would look again, and follow a copied work dir's last_checkpoint to the original
                self.logger.info(f"no checkpoint to resume from in {self.work_dir}: training starts at iteration 0")
                self._resume = False
        super().load_or_resume()

    def newest_intact_checkpoint(self) -> str | None:
        """The newest checkpoint of the work dir that loads (``last_checkpoint`` first, then ``iter_N``/``epoch_N``
        by decreasing N); None when there is none at all; a ValueError when there are some but none loads."""
        latest = find_latest_checkpoint(self.work_dir)
        if latest and Path(latest).parent.resolve() != Path(self.work_dir).resolve():
            # last_checkpoint holds an absolute path: in a copied or moved work dir it names the original's file
            own = Path(self.work_dir) / Path(latest).name
            latest = str(own) if own.is_file() else None
        numbered = sorted((p for p in Path(self.work_dir).glob("*.pth") if _CHECKPOINT.match(p.name)),
                          key=lambda p: int(_CHECKPOINT.match(p.name).group(1)), reverse=True)
        candidates = list(dict.fromkeys(([str(latest)] if latest else []) + [str(p) for p in numbered]))
        for path in candidates:
            try:
                safe_torch_load(path, "training checkpoint", mmengine_checkpoint_globals())
            except (ValueError, OSError) as err:
                self.logger.warning(f"not resuming from {path}: {err}")
                continue
            return path
        if candidates:
            raise ValueError(f"{self.work_dir}: none of its {len(candidates)} checkpoints can be read "
                             f"({', '.join(Path(p).name for p in candidates)}); start a fresh run without --resume")
        return None
