"""Tiles sharing the image-wide statistics of UPT-Flow's global pools (MDTA, ECA, CBAM)."""

import pytest
import torch

from tests.models.images import dark_photo, psnr
from uptflow.models.image_statistics import ImageStatistics, pooled_amax, pooled_mean, pooled_sums
from uptflow.models.tiling import tiled_apply


def test_pools_are_the_plain_reductions_when_no_image_is_shared():
    x = torch.randn(2, 5, 7, 9)
    assert torch.equal(pooled_mean(x), x.mean(dim=(2, 3)))
    assert torch.equal(pooled_amax(x), x.amax(dim=(2, 3)))
    sums = [x.sum(dim=(2, 3)), x.pow(2).sum(dim=(2, 3))]
    assert all(a is b for a, b in zip(pooled_sums(sums), sums, strict=True))


def test_disjoint_tiles_sharing_statistics_see_the_whole_image_mean_and_max():
    x = torch.randn(1, 4, 64, 96, generator=torch.Generator().manual_seed(0))

    def pools(t: torch.Tensor) -> torch.Tensor:  # every pixel holds the pooled mean of channel 0, max of channel 1
        mean, peak = pooled_mean(t), pooled_amax(t)
        out = torch.empty_like(t)
        out[:, 0], out[:, 1], out[:, 2:] = mean[:, 0, None, None], peak[:, 1, None, None], t[:, 2:]
        return out

    shared = tiled_apply(pools, x, tile=32, overlap=0, share_statistics=True)
    torch.testing.assert_close(shared[:, 0], x[:, 0].mean().expand(1, 64, 96), atol=1e-6, rtol=0)
    torch.testing.assert_close(shared[:, 1], x[:, 1].amax().expand(1, 64, 96), atol=0, rtol=0)
    torch.testing.assert_close(shared[:, 2:], x[:, 2:])
    local = tiled_apply(pools, x, tile=32, overlap=0)
    assert (local[:, 0] - x[:, 0].mean()).abs().max() > 1e-3  # each tile alone pools over itself


def test_tiles_of_the_trained_default_model_sharing_statistics_come_close_to_the_untiled_output():
    # the packaged model, because random weights hardly depend on the global pools (a tiny random network's tiles
    # differ from its untiled output mostly by their limited context)
    from uptflow.models import load_model

    model = load_model(None)
    low = dark_photo(128, 128)
    with torch.inference_mode():
        full = model.enhance(low)
        local = tiled_apply(model.enhance, low, tile=80, overlap=24)
        shared = tiled_apply(model.enhance, low, tile=80, overlap=24, share_statistics=True)
    # measured with the iteration-3000 default model: 31.0 dB tile-local, 43.5 dB shared
    assert psnr(full, local) < 33 and psnr(full, shared) > 40, (psnr(full, local), psnr(full, shared))


def test_sharing_refuses_a_pass_that_does_not_match_the_recorded_ones():
    stats = ImageStatistics()
    with pytest.raises(RuntimeError, match="nothing was recorded"), stats.sharing():
        pass
    with stats.recording():
        stats.start_pass()
        pooled_mean(torch.ones(1, 3, 4, 4))
    with stats.sharing(), pytest.raises(RuntimeError, match="call 0 .* does not match"):
        stats.start_pass()
        pooled_mean(torch.ones(1, 5, 4, 4))
    assert torch.equal(pooled_mean(torch.ones(1, 5, 4, 4)), torch.ones(1, 5))  # inactive again outside the block
