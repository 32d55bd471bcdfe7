"""Checks every invertible layer must pass, and tiny float64 instances of every registered flow class."""

from collections.abc import Callable

import torch
from torch import nn

from uptflow.models import flow as F
from uptflow.models.flow.actnorm import ActNorm

__all__ = ["FACTORIES", "assert_invertible", "assert_logdet_matches_autograd", "perturb_"]


@torch.no_grad()
def perturb_(module: nn.Module, scale: float = 0.2, seed: int = 0) -> nn.Module:
    """Add noise to every parameter (zero-initialised couplings would hide bugs) and mark ActNorms initialised."""
    g = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    for m in module.modules():
        if isinstance(m, ActNorm):
            m.initialized.fill_(True)
    return module


def _rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _case(module: nn.Module, x_shape: tuple[int, ...], cond=None) -> tuple[nn.Module, torch.Tensor, object]:
    module = perturb_(module).double()
    return module, _rand(*x_shape, seed=1), cond


def _tiny_coupling_kw() -> dict:
    return dict(hidden=8, reduction=4)


# class name -> () -> (module in float64 with perturbed parameters, input x, condition)
FACTORIES: dict[str, Callable[[], tuple[nn.Module, torch.Tensor, object]]] = {
    "Squeeze": lambda: _case(F.Squeeze(2), (2, 3, 4, 4)),
    "ActNorm": lambda: _case(F.ActNorm(3), (2, 3, 4, 4)),
    "InvConv1x1": lambda: _case(F.InvConv1x1(4), (2, 4, 3, 3)),
    "CrossCouplingAffine": lambda: _case(F.CrossCouplingAffine(4, 3, **_tiny_coupling_kw()), (2, 4, 4, 4),
                                         _rand(2, 3, 4, 4, seed=2)),
    "FlowStep": lambda: _case(F.FlowStep(4, 3, **_tiny_coupling_kw()), (2, 4, 3, 3), _rand(2, 3, 3, 3, seed=2)),
    "FlowSequential": lambda: _case(F.FlowSequential(F.ActNorm(4), F.InvConv1x1(4),
                                                     F.CrossCouplingAffine(4, 2, **_tiny_coupling_kw())),
                                    (2, 4, 3, 3), _rand(2, 2, 3, 3, seed=2)),
    "FlowLevel": lambda: _case(F.FlowLevel(2, 3, n_unconditional=1, K=1, **_tiny_coupling_kw()), (2, 2, 4, 4),
                               _rand(2, 3, 2, 2, seed=2)),
    "UPTFlowNet": lambda: _case(F.UPTFlowNet(3, levels=2, n_unconditional=1, K=1, cond_channels=[3, 2],
                                             **_tiny_coupling_kw()), (2, 3, 4, 4),
                                [_rand(2, 3, 2, 2, seed=2), _rand(2, 2, 1, 1, seed=3)]),
}


def assert_invertible(layer: nn.Module, x: torch.Tensor, cond=None, atol: float = 1e-9) -> None:
    """reverse(forward(x)) == x, reverse (the inference path, with folded ActNorms) agrees with reverse_logdet, and
    reverse_logdet's log-det is minus the forward one."""
    with torch.no_grad():
        y, logdet = layer(x, cond)
        assert logdet.shape == (x.shape[0],), f"logdet must have shape [B], got {tuple(logdet.shape)}"
        x_rec, rev_logdet = layer.reverse_logdet(y, cond)
        torch.testing.assert_close(x_rec, x, atol=atol, rtol=0)
        torch.testing.assert_close(layer.reverse(y, cond), x_rec, atol=atol, rtol=0)
        torch.testing.assert_close(rev_logdet, -logdet, atol=atol * max(1.0, logdet.abs().max().item()), rtol=0)


def assert_logdet_matches_autograd(layer: nn.Module, x: torch.Tensor, cond=None, atol: float = 1e-8) -> None:
    """The forward log-det equals slogdet of the per-sample Jacobian computed by autograd."""
    with torch.no_grad():
        _, logdet = layer(x, cond)
    jac = torch.autograd.functional.jacobian(lambda inp: layer(inp, cond)[0], x)
    b, d = x.shape[0], x[0].numel()
    jac = jac.reshape(b, d, b, d)
    for i in range(b):
        sign, logabs = torch.linalg.slogdet(jac[i, :, i, :])
        assert sign != 0, "Jacobian is singular"
        torch.testing.assert_close(logdet[i], logabs, atol=atol, rtol=1e-9)
        others = [j for j in range(b) if j != i]
        if others:  # samples must not influence each other
            assert jac[i, :, others, :].abs().max() == 0
