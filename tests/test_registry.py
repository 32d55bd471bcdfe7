"""uptflow's registries resolve their own types whatever default scope mmdet / mmseg code left behind."""

from mmengine.registry import DefaultScope

from uptflow.registry import ENHANCERS, METRICS


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
