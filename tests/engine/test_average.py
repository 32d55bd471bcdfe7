"""Averaging networks trained from one start: the parameter mean, constant buffers kept, mismatches refused."""

import pytest
import torch

from tests.models.tiny import tiny_uptflow
from uptflow.engine.average import average_networks, main
from uptflow.models import load_model
from uptflow.models.checkpoint import save_model


def _perturbed(seed: int):
    net = tiny_uptflow()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)
    return net


@pytest.fixture()
def two(tmp_path):
    return [save_model(_perturbed(seed), tmp_path / f"run{seed}.pth") for seed in (1, 2)]


@pytest.mark.parametrize("n", [2, 3])
def test_average_is_the_uniform_parameter_mean_with_the_buffers_of_the_sources(tmp_path, n):
    paths = [save_model(_perturbed(seed), tmp_path / f"run{seed}.pth") for seed in range(1, n + 1)]
    nets = [dict(load_model(p).named_parameters()) for p in paths]
    mean = average_networks(paths)
    params = dict(mean.named_parameters())
    assert not all(torch.equal(p, nets[1][name]) for name, p in nets[0].items())
    for name, p in params.items():
        torch.testing.assert_close(p, sum(net[name] for net in nets) / n)
    buffers = dict(mean.named_buffers())
    assert buffers and all(torch.equal(buffers[k], t) for k, t in load_model(paths[0]).named_buffers())
    assert dict(mean.config) == dict(load_model(paths[0]).config)


def test_default_names_the_packaged_model(two, monkeypatch):
    from uptflow.models import checkpoint

    monkeypatch.setattr(checkpoint, "DEFAULT_WEIGHTS", two[0])
    mean = dict(average_networks(["default", two[1]]).named_parameters())
    a, b = (dict(load_model(p).named_parameters()) for p in two)
    for name, p in mean.items():
        torch.testing.assert_close(p, (a[name] + b[name]) / 2)


def test_average_command_writes_a_network_that_loads_and_enhances(two, tmp_path, capsys):
    out = tmp_path / "soup.pth"
    assert main([*map(str, two), "--out", str(out)]) == 0
    assert "the mean of 2 networks" in capsys.readouterr().out
    stored = torch.load(out, weights_only=True)["state_dict"]
    assert all(v.dtype == torch.float32 for v in stored.values() if v.is_floating_point())
    net = load_model(out)
    with torch.no_grad():
        y = net.enhance(torch.rand(1, 3, 16, 16))
    assert y.shape == (1, 3, 16, 16) and torch.isfinite(y).all()


def test_average_refuses_one_network_other_configs_and_other_buffers(two, tmp_path):
    with pytest.raises(ValueError, match="at least two networks"):
        average_networks(two[:1])
    other = save_model(tiny_uptflow(window_size=2), tmp_path / "other.pth")
    with pytest.raises(ValueError, match=r"other\.pth: network config .* differs"):
        average_networks([two[0], other])
    fresh = tiny_uptflow()
    actnorm = next(n for n, _ in fresh.named_buffers() if n.endswith("initialized"))
    fresh.get_buffer(actnorm).fill_(False)
    untrained = save_model(fresh, tmp_path / "untrained.pth")
    with pytest.raises(ValueError, match=rf"untrained\.pth: buffer '{actnorm}' differs"):
        average_networks([two[0], untrained])


def test_average_command_reports_a_missing_checkpoint_in_one_line(two, tmp_path, capsys):
    assert main([str(two[0]), str(tmp_path / "nope.pth"), "--out", str(tmp_path / "x.pth")]) == 2
    assert capsys.readouterr().err.strip() == f"error: checkpoint not found: {tmp_path / 'nope.pth'}"
    assert not (tmp_path / "x.pth").exists()
