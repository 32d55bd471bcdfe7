"""Every registered invertible layer inverts exactly and reports the autograd log-determinant."""

import pytest
import torch

import uptflow.models.flow  # noqa: F401 - registers the flow classes
from tests.models.flow.helpers import FACTORIES, assert_invertible, assert_logdet_matches_autograd
from uptflow.models.flow import ActNorm, CrossCouplingAffine, UPTFlowNet, data_dependent_init
from uptflow.registry import FLOWS

REGISTERED = sorted(FLOWS.module_dict)


def test_every_registered_flow_class_has_a_tiny_test_case():
    assert set(REGISTERED) <= set(FACTORIES), f"add a FACTORIES entry for {set(REGISTERED) - set(FACTORIES)}"


@pytest.mark.parametrize("name", REGISTERED)
def test_layer_round_trip_and_reverse_logdet(name):
    layer, x, cond = FACTORIES[name]()
    assert_invertible(layer, x, cond)


@pytest.mark.parametrize("name", REGISTERED)
def test_layer_logdet_matches_autograd_jacobian(name):
    layer, x, cond = FACTORIES[name]()
    assert_logdet_matches_autograd(layer, x, cond)


def test_actnorm_explicit_init_standardises_channels(seed):
    norm = ActNorm(3)
    x = torch.randn(4, 3, 5, 5) * torch.tensor([2.0, 0.5, 3.0])[:, None, None] + 1.5
    assert not bool(norm.initialized)
    norm.initialize(x)
    y, _ = norm(x)
    assert bool(norm.initialized)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)


def test_actnorm_initialises_only_inside_context_and_only_once(seed):
    norm = ActNorm(2)
    x = torch.randn(2, 2, 3, 3) + 5
    norm(x)
    assert not bool(norm.initialized) and norm.bias.abs().sum() == 0
    with data_dependent_init(norm):
        norm(x)
        first = norm.bias.clone()
        norm(x * 3)
    torch.testing.assert_close(norm.bias, first)
    assert bool(norm.initialized)


def test_coupling_starts_as_pure_scaling(seed):
    layer = CrossCouplingAffine(4, 3, hidden=8, reduction=4)
    x, cond = torch.randn(2, 4, 4, 4), torch.randn(2, 3, 4, 4)
    y, _ = layer(x, cond)
    s = torch.sigmoid(torch.tensor(2.0)) + 3e-4
    # (a) and (c) scale every channel, (b) and (d) one half each: total s^3 per channel
    torch.testing.assert_close(y, x * s**3, atol=1e-6, rtol=1e-5)


def test_flow_parameter_count_matches_official():
    net = UPTFlowNet()
    assert sum(p.numel() for p in net.parameters()) == 6_723_600
    per_level = [sum(p.numel() for p in level.parameters()) for level in net.levels]
    assert per_level == [1_845_200, 2_000_000, 2_878_400]


def test_flow_runs_in_fp32_under_autocast(seed):
    net = UPTFlowNet(3, levels=1, n_unconditional=1, K=1, cond_channels=4, hidden=8, reduction=4)
    x, cond = torch.rand(1, 3, 4, 4), [torch.randn(1, 4, 2, 2)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, logdet = net(x, cond)
    assert z.dtype == torch.float32 and logdet.dtype == torch.float32


def test_invconv_inverse_is_cached_at_inference_and_follows_weight_updates():
    from uptflow.models.flow import InvConv1x1

    conv = InvConv1x1(4)
    y = torch.randn(1, 4, 3, 3)
    with torch.inference_mode():
        first = conv.reverse(y)
        inverse = conv.inverse_weight(y.dtype)
        assert conv.inverse_weight(y.dtype).data_ptr() == inverse.data_ptr()  # reused, not recomputed
    with torch.no_grad():
        conv.weight.mul_(2.0)  # an in-place update (optimiser step, load_state_dict) bumps the version
    with torch.no_grad():
        torch.testing.assert_close(conv.reverse(y), first / 2, atol=1e-6, rtol=0)
    x = torch.randn(1, 4, 3, 3, requires_grad=True)
    conv.reverse(x).sum().backward()  # with grad on, the inverse stays differentiable
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
