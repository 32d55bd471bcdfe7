"""LPIPS network equals the `lpips` package's AlexNet model given the same weights; nothing is downloaded."""

import pytest
import torch

from uptflow.metrics.lpips import LPIPS


@pytest.fixture(scope="module")
def reference_and_backbone(tmp_path_factory):
    lpips = pytest.importorskip("lpips")
    torch.manual_seed(0)
    # pnet_rand=True builds torchvision's AlexNet with random weights (no download); lin layers are the shipped ones
    ref = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    path = tmp_path_factory.mktemp("lpips") / "alexnet.pth"
    torch.save({"features." + k.split(".", 1)[1]: v for k, v in ref.net.state_dict().items()}, path)
    return ref, path


def test_lpips_matches_the_reference_package(reference_and_backbone):
    ref, path = reference_and_backbone
    ours = LPIPS(backbone=path)
    x, y = torch.rand(2, 3, 48, 64), torch.rand(2, 3, 48, 64)
    with torch.no_grad():
        expected = ref(x, y, normalize=True).flatten()
        got = ours(x, y)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert torch.all(ours(x, x) == 0)


def test_missing_backbone_names_the_file_to_provide(tmp_path):
    with pytest.raises(FileNotFoundError, match="alexnet-owt-7be5be79.pth"):
        LPIPS(backbone=tmp_path / "missing.pth")


def test_missing_default_backbone_names_both_places_and_the_option(tmp_path, monkeypatch):
    monkeypatch.setenv("UPTFLOW_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError) as err:
        LPIPS()
    assert str(tmp_path / "hub" / "checkpoints") in str(err.value) and "--lpips-backbone" in str(err.value)
    assert str(tmp_path / "cache" / "weights") in str(err.value)
