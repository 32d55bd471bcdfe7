"""An enhancer's identity (cache key, unit identity) covers its name, its settings, its weights and its code, even
for a user's enhancer written without knowing the contract: never another enhancer's or an older version's outputs."""

import importlib.util
import sys

import pytest
import torch

from uptflow.enhancers.base import Enhancer, build_enhancer, code_sha256, code_sources
from uptflow.enhancers.cache import EnhancedImageCache
from uptflow.registry import ENHANCERS


@ENHANCERS.register_module(name="test_plain_brighten", force=True)
class _PlainBrighten(Enhancer):
    """Written like a first enhancer: no name, no params(), the weights file read but not kept."""

    def __init__(self, weights: str | None = None, device: str = "cpu", strength: float = 1.0) -> None:
        super().__init__(device)
        self.strength = strength
        self.gain = float(torch.load(weights, weights_only=True)["gain"]) if weights else 2.0

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.gain * self.strength).clamp(0, 1)


@ENHANCERS.register_module(name="test_plain_invert", force=True)
class _PlainInvert(Enhancer):
    """Another first enhancer without a name."""

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - x


@ENHANCERS.register_module(name="test_misnamed", force=True)
class _Misnamed(Enhancer):
    """Registered under one name, calling itself another (a built-in's)."""

    name = "gamma"

    def enhance_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_an_unnamed_enhancer_takes_its_registry_name_and_two_never_share_a_cache(tmp_path):
    brighten, invert = build_enhancer("test_plain_brighten"), build_enhancer("test_plain_invert")
    assert (brighten.name, invert.name) == ("test_plain_brighten", "test_plain_invert")
    assert EnhancedImageCache(brighten, tmp_path).key != EnhancedImageCache(invert, tmp_path).key


def test_a_name_other_than_the_registry_name_is_refused():
    with pytest.raises(ValueError, match="test_misnamed.*its name 'gamma' differs from its registry name"):
        build_enhancer("test_misnamed")


def test_a_setting_missing_from_params_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"test_plain_brighten.*\['strength'\] are not in its params\(\)"):
        build_enhancer("test_plain_brighten", strength=0.5)


def test_weights_without_a_checksum_in_the_identity_are_refused(tmp_path):
    torch.save({"gain": 3.0}, tmp_path / "gain.pth")
    with pytest.raises(ValueError, match="gain.pth but its describe\\(\\) has no weights checksum"):
        build_enhancer("test_plain_brighten", weights=tmp_path / "gain.pth")


def test_weights_replaced_after_loading_keep_the_checksum_of_the_file_that_was_read(tmp_path):
    from uptflow.enhancers.learned import DCENet, ZeroDCE
    from uptflow.enhancers.uptflow import UPTFlowEnhancer
    from uptflow.models.checkpoint import DEFAULT_WEIGHTS
    from uptflow.utils.io import file_sha256

    zero = tmp_path / "zero.pth"
    torch.save(DCENet().state_dict(), zero)  # random weights in the official layout
    up = tmp_path / "up.pth"
    up.write_bytes(DEFAULT_WEIGHTS.read_bytes())
    read = {zero: file_sha256(zero), up: file_sha256(up)}
    built = [ZeroDCE(weights=zero), UPTFlowEnhancer(weights=up)]  # directly, not through build_enhancer
    for path in read:
        path.write_bytes(b"another file")
    assert [e.describe()["weights_sha256"] for e in built] == list(read.values())


def test_every_registered_enhancer_is_named_as_registered():
    ENHANCERS.import_from_location()
    wrong = {name: cls.name for name, cls in ENHANCERS.module_dict.items()
             if cls.name not in (name, Enhancer.name) and name != "test_misnamed"}
    assert not wrong


def _import_file(path, module_name):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def test_editing_an_enhancers_code_changes_its_identity(tmp_path):
    source = tmp_path / "my_enhancer.py"
    source.write_text("from uptflow.enhancers.base import Enhancer\n\n\nclass Mine(Enhancer):\n"
                      "    def enhance_tensor(self, x):\n        return x\n")
    mine = _import_file(source, "uptflow_test_my_enhancer").Mine
    before = code_sha256(mine)
    assert before != code_sha256(_PlainInvert) and len(before) == 16
    source.write_text(source.read_text().replace("return x", "return x ** 0.5"))
    code_sha256.cache_clear()
    assert code_sha256(mine) != before
    assert mine().describe()["code_sha256"] == code_sha256(mine)


def test_uptflows_identity_covers_the_model_package_and_image_decoding_named_by_module():
    from uptflow.enhancers.uptflow import UPTFlowEnhancer

    sources = code_sources(UPTFlowEnhancer)
    assert {"uptflow.enhancers.uptflow", "uptflow.enhancers.base", "uptflow.utils.io",
            "uptflow.models/uptflow.py", "uptflow.models/flow/coupling.py"} <= set(sources)
    assert not [k for k in sources if k.startswith("/") or "site-packages" in k]  # the same hash on every machine
    assert "uptflow.models/uptflow.py" not in code_sources(_PlainInvert)


def test_a_registry_name_with_its_scope_is_the_same_enhancer():
    assert build_enhancer("uptflow.gamma").describe() == build_enhancer("gamma").describe()
