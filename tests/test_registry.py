"""uptflow's registries resolve their own types whatever default scope mmdet / mmseg code left behind, and name
the closest known type or setting when a name is misspelt."""

import pytest
from mmengine.registry import DefaultScope

from uptflow.enhancers import build_enhancer
from uptflow.registry import ENHANCERS, METRICS, SettingsError


def test_plain_type_names_build_after_another_library_set_the_default_scope():
    with DefaultScope.overwrite_default_scope("mmseg"):
        enhancer = ENHANCERS.build(dict(type="gamma", gamma=2.0))
        metric = METRICS.build(dict(type="ImageQuality"))
        assert DefaultScope.get_current_instance().scope_name == "mmseg"  # left as it was
    assert type(enhancer).__name__ == "Gamma" and type(metric).__name__ == "ImageQuality"


def test_types_of_the_parent_registries_still_resolve():
    assert METRICS.get("mmengine.DumpResults").__name__ == "DumpResults"
    with DefaultScope.overwrite_default_scope("mmseg"):
        assert type(METRICS.build(dict(type="DumpResults", out_file_path="x.pkl"))).__name__ == "DumpResults"


@pytest.mark.parametrize("spec, message", [
    ("gama", "unknown enhancer 'gama' (did you mean gamma? registered: clahe, gamma,"),
    (dict(type="clahe", clip_limt=2.0), "clahe.clip_limt: unknown setting of CLAHE (did you mean clip_limit? known:"),
    ("zzzz", "unknown enhancer 'zzzz' (registered: clahe,"),
    ("none", "enhancer 'none' is the evaluation commands' unenhanced input, not an enhancer: use 'identity'"),
])
def test_a_misspelt_name_or_setting_is_refused_with_the_closest_known_one(spec, message):
    with pytest.raises(SettingsError) as err:
        build_enhancer(spec)
    assert str(err.value).startswith(message)
