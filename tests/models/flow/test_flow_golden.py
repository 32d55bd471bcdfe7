"""The flow computes the official function: official weights + the official encoder outputs as conditions."""

import pytest
import torch

from tests.models.golden_utils import image, load_case, nll_bits, official_state_dict, rel_err
from uptflow.models.checkpoint import convert_official_state_dict
from uptflow.models.flow import UPTFlowNet


@pytest.fixture(scope="module")
def official_flow(golden):
    sd = convert_official_state_dict(official_state_dict(golden))
    flow_sd = {k[len("flow."):]: v for k, v in sd.items() if k.startswith("flow.")}
    net = UPTFlowNet()
    flow_sd.update({k: torch.tensor(True) for k in net.state_dict() if k.endswith(".initialized")})
    net.load_state_dict(flow_sd, strict=True)
    return net.eval()


@pytest.mark.realdata
@pytest.mark.parametrize("case", ["case0", pytest.param("case1", marks=pytest.mark.slow)])
def test_flow_matches_official_outputs_given_official_conditions(official_flow, golden, case):
    d = load_case(golden, case)
    # the golden enc_fea_up* are already the 288-channel conditions (fea_up_k + resized cat_f)
    cond = [torch.from_numpy(d[f"enc_fea_up{i}"])[None] for i in (2, 1, 0)]
    with torch.no_grad():
        z, logdet = official_flow(image(d["gt_u8"]), cond)
        x0 = official_flow.reverse(torch.zeros_like(z), cond)
    assert rel_err(z, d["z"]) < 1e-4
    assert abs(logdet.item() - float(d["logdet"])) / abs(float(d["logdet"])) < 1e-4
    assert abs(nll_bits(z, logdet) - float(d["nll_bits"])) / abs(float(d["nll_bits"])) < 1e-4
    assert rel_err(x0, d["enhanced_heat0"]) < 1e-3
