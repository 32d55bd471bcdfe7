"""Optimizer wrappers that skip a step whose loss (or, without AMP, gradient) is not finite.

A flow's NLL can blow up on a rare batch; one such step would write NaN into every weight. These wrappers
skip it, count it (logged as ``train/nonfinite_skipped``), and stop training with a clear error after
``max_consecutive_nonfinite`` skips in a row, which means the run has diverged rather than hit a bad batch.
All processes of a distributed run take the same decision (the flag is all-reduced). With AMP, inf/NaN
gradients are the GradScaler's business (it skips the step and lowers the scale), so only the loss is checked.

``SafeBf16OptimWrapper`` is the CPU counterpart of AMP (mmengine's ``AmpOptimWrapper`` requires CUDA): the forward
pass runs under ``torch.autocast(dtype=torch.bfloat16)``, which on CPUs with AVX-512-BF16 / AMX speeds up the
encoder's matrix products, while the flow keeps float32 (``UPTFlowNet`` turns autocast off inside itself). bf16 has
float32's exponent range, so no loss scaling is needed and gradients are checked as in fp32.
"""

import logging
from contextlib import contextmanager

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from uptflow.registry import OPTIM_WRAPPERS

__all__ = ["NonFiniteGuardMixin", "SafeOptimWrapper", "SafeAmpOptimWrapper", "SafeBf16OptimWrapper",
           "NonFiniteLossError"]


class NonFiniteLossError(FloatingPointError):
    """Training produced too many non-finite steps in a row."""


class NonFiniteGuardMixin:
    """Adds the non-finite check to an mmengine ``OptimWrapper`` subclass (see the module docstring)."""

    check_gradients = True

    def __init__(self, *args, max_consecutive_nonfinite: int = 20, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if max_consecutive_nonfinite < 1:
            raise ValueError(f"max_consecutive_nonfinite must be >= 1, got {max_consecutive_nonfinite}")
        self.max_consecutive_nonfinite = max_consecutive_nonfinite
        self.nonfinite_total = 0
        self.nonfinite_in_row = 0

    @staticmethod
    def _all_finite(value: torch.Tensor) -> bool:
        """True when ``value`` is finite on every process."""
        flag = torch.isfinite(value.detach()).all().float().reshape(1)
        if get_world_size() > 1:
            all_reduce(flag, op="min")
        return bool(flag.item())

    def _grad_norm(self) -> torch.Tensor:
        grads = [p.grad.detach() for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return torch.zeros(())
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))

    def _skip(self, what: str) -> None:
        self.zero_grad()
        self.nonfinite_total += 1
        self.nonfinite_in_row += 1
        MessageHub.get_current_instance().update_scalar("train/nonfinite_skipped", self.nonfinite_total)
        print_log(f"non-finite {what}: optimizer step skipped ({self.nonfinite_in_row} in a row, "
                  f"{self.nonfinite_total} in total)", logger="current", level=logging.WARNING)
        if self.nonfinite_in_row >= self.max_consecutive_nonfinite:
            raise NonFiniteLossError(
                f"{self.nonfinite_in_row} consecutive optimizer steps had a non-finite {what}; training has "
                f"diverged. Lower the learning rate, tighten clip_grad, or resume from an earlier checkpoint "
                f"(the limit is optim_wrapper.max_consecutive_nonfinite={self.max_consecutive_nonfinite}).")

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Backward and step as mmengine does, unless the loss or the gradient is not finite."""
        if not self._all_finite(loss):
            self._skip("loss")
            return
        self.backward(self.scale_loss(loss))
        if not self.should_update():
            return
        if self.check_gradients and not self._all_finite(self._grad_norm()):
            self._skip("gradient")
            return
        self.nonfinite_in_row = 0
        self.step(**(step_kwargs or {}))
        self.zero_grad(**(zero_kwargs or {}))

    def state_dict(self) -> dict:
        """The wrapped optimizer's state plus the skip counters."""
        state = super().state_dict()
        state["nonfinite"] = dict(total=self.nonfinite_total, in_row=self.nonfinite_in_row)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the optimizer's state and the skip counters."""
        state_dict = dict(state_dict)
        counters = state_dict.pop("nonfinite", None)
        if counters is not None:
            self.nonfinite_total, self.nonfinite_in_row = int(counters["total"]), int(counters["in_row"])
        super().load_state_dict(state_dict)


@OPTIM_WRAPPERS.register_module()
class SafeOptimWrapper(NonFiniteGuardMixin, OptimWrapper):
    """``OptimWrapper`` that skips non-finite steps (fp32 training, CPU or GPU)."""


@OPTIM_WRAPPERS.register_module()
class SafeAmpOptimWrapper(NonFiniteGuardMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` (autocast + GradScaler, CUDA) that skips steps whose loss is not finite."""

    check_gradients = False


@OPTIM_WRAPPERS.register_module()
class SafeBf16OptimWrapper(SafeOptimWrapper):
    """``SafeOptimWrapper`` whose forward pass runs under bf16 autocast on the model's device (CPU training)."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """mmengine's context (gradient-accumulation sync) plus ``torch.autocast(bfloat16)``."""
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device, dtype=torch.bfloat16):
            yield
