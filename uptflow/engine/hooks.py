"""Runner hooks: RNG state in checkpoints, export of the trained network, a tqdm progress bar.

mmengine's resume restores weights, optimizer, schedulers, iteration and message hub, and replays the data
stream by advancing the data loader; it does not restore the torch RNG that draws UPT-Flow's dequantisation
noise. ``RNGStateHook`` adds that, which makes a single-process resume bit-identical to an uninterrupted run.
"""

import logging
import os
from pathlib import Path

import torch
from mmengine.dist import get_rank, get_world_size, master_only
from mmengine.hooks import Hook
from mmengine.logging import print_log

from uptflow.registry import HOOKS

__all__ = ["RNGStateHook", "ExportModelHook", "ProgressBarHook", "unwrap"]


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The UPTFlow network inside a runner's model (DDP wrapper and UPTFlowTrainer removed)."""
    model = getattr(model, "module", model)
    return getattr(model, "net", model)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save torch's CPU / CUDA RNG states in checkpoints and restore them on load.

    The numpy RNG is deliberately not restored: data transforms draw from it and mmengine replays them when it
    advances the data loader on resume, which brings numpy to the right state by itself. In distributed runs only
    rank 0's state is saved; other ranks re-seed from (seed, iteration, rank), so their noise after a resume is
    deterministic but differs from an uninterrupted run.
    """

    priority = "NORMAL"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add ``rng_state`` to the checkpoint."""
        checkpoint["rng_state"] = dict(
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the saved RNG states (no-op for checkpoints without them)."""
        state = checkpoint.get("rng_state")
        if state is None:
            return
        # mmengine loads a checkpoint onto the training device, and torch takes RNG states as CPU byte tensors only
        torch.set_rng_state(state["torch"].cpu())
        cuda = state.get("cuda")
        if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
        if get_world_size() > 1 and get_rank() > 0:
            iteration = int(checkpoint.get("meta", {}).get("iter", 0))
            torch.manual_seed(hash((runner.seed, iteration, get_rank())) % (2 ** 63))


@HOOKS.register_module()
class ExportModelHook(Hook):
    """Write the network in uptflow's checkpoint format (``uptflow.models.load_model`` reads it).

    ``<work_dir>/<prefix>_best.pth`` is rewritten whenever the CheckpointHook records a new best score (this hook
    runs after it), and ``<work_dir>/<prefix>_final.pth`` at the end of training. Files are written atomically.

    Args:
        prefix: file name prefix. Defaults to ``'uptflow'``.
    """

    priority = "LOWEST"

    def __init__(self, prefix: str = "uptflow") -> None:
        self.prefix = prefix
        self._best_seen = None

    def before_train(self, runner) -> None:
        """Remember the best score restored by a resume, so it is not exported again."""
        self._best_seen = runner.message_hub.get_info("best_score")

    def _save(self, runner, tag: str) -> Path:
        from uptflow.models.checkpoint import save_model

        path = save_model(unwrap(runner.model), os.path.join(runner.work_dir, f"{self.prefix}_{tag}.pth"))
        print_log(f"exported the {tag} network to {path}", logger="current", level=logging.INFO)
        return path

    @master_only
    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Export when the best score just changed."""
        best = runner.message_hub.get_info("best_score")
        if best is not None and best != self._best_seen:
            self._best_seen = best
            self._save(runner, "best")

    @master_only
    def after_train(self, runner) -> None:
        """Export the final weights."""
        self._save(runner, "final")


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A tqdm bar over training iterations with the current loss (rank 0; hidden when stderr is not a terminal).

    Args:
        disable: force the bar off (True) or on (False); None lets tqdm decide from the terminal.
    """

    priority = "BELOW_NORMAL"

    def __init__(self, disable: bool | None = None) -> None:
        self.disable = disable
        self._bar = None

    @master_only
    def before_train(self, runner) -> None:
        """Open the bar at the (possibly resumed) iteration."""
        from tqdm.auto import tqdm

        self._bar = tqdm(total=runner.max_iters, initial=runner.iter, desc="train", unit="it",
                         disable=self.disable, dynamic_ncols=True)

    @master_only
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: dict | None = None) -> None:
        """Advance by one iteration."""
        if self._bar is None:
            return
        if outputs and "loss" in outputs:
            self._bar.set_postfix(nll=f"{float(outputs['loss'].detach()):.3f}", refresh=False)
        self._bar.update(1)

    @master_only
    def after_train(self, runner) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
