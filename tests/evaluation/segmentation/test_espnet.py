"""ESPNet inside mmseg: official layout and weights, official preprocessing, predictions equal to the official script.

The reference here is written independently of ``evaluation.segmentation.espnet``: a functional forward that reads
the official state dict by its own key names (sacmehta/ESPNet ``test/Model.py``) and the preprocessing of
``test/VisualizeResults.py`` in numpy/OpenCV, step by step as it is written there.
"""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "configs" / "segmentation" / "espnet_cityscapes.py"
WEIGHTS = Path("data") / "weights" / "espnet" / "espnet_p_2_q_8_cityscapes.pth"
FRAMES = Path("data") / "cityscapes_day" / "leftImg8bit"

# VisualizeResults.py's "global mean and std values" (BGR)
OFFICIAL_MEAN = [72.3923111, 82.90893555, 73.15840149]
OFFICIAL_STD = [45.3192215, 46.15289307, 44.91483307]
# SOURCES.tsv: 189 tensors, 364,569 learnable values
OFFICIAL_TENSORS, OFFICIAL_LEARNABLE = 189, 364_569


def _official_forward(sd: dict, x):
    """ESPNet(classes, p, q).forward of test/Model.py, computed functionally from the official state dict."""
    import torch
    import torch.nn.functional as F

    def bn(t, k):
        return F.batch_norm(t, sd[f"{k}.running_mean"], sd[f"{k}.running_var"], sd[f"{k}.weight"], sd[f"{k}.bias"],
                            training=False, momentum=0.0, eps=1e-3)

    def bn_prelu(t, k):
        return F.prelu(bn(t, f"{k}.bn"), sd[f"{k}.act.weight"])

    def conv(t, k, stride=1, dilation=1):
        w = sd[f"{k}.conv.weight"]
        return F.conv2d(t, w, stride=stride, padding=(w.shape[-1] - 1) // 2 * dilation, dilation=dilation)

    def esp(t, k, down=False, add=True):
        r = conv(t, f"{k}.c1", stride=2 if down else 1)
        d1, d2, d4, d8, d16 = (conv(r, f"{k}.d{d}", dilation=d) for d in (1, 2, 4, 8, 16))
        add2 = d2 + d4
        add3 = add2 + d8
        y = torch.cat([d1, d2, add2, add3, add3 + d16], 1)
        if down:  # DownSamplerB: plain bn / act attributes
            return F.prelu(bn(y, f"{k}.bn"), sd[f"{k}.act.weight"])
        return bn_prelu(t + y if add else y, f"{k}.bn")

    def pool(t, times):
        for _ in range(times):
            t = F.avg_pool2d(t, 3, stride=2, padding=1)
        return t

    p = sum(k.startswith("encoder.level2.") and k.endswith(".c1.conv.weight") for k in sd)
    q = sum(k.startswith("encoder.level3.") and k.endswith(".c1.conv.weight") for k in sd)
    out0 = bn_prelu(conv(x, "encoder.level1", stride=2), "encoder.level1")
    cat0 = bn_prelu(torch.cat([out0, pool(x, 1)], 1), "encoder.b1")
    down1 = out1 = esp(cat0, "encoder.level2_0", down=True)
    for i in range(p):
        out1 = esp(out1, f"encoder.level2.{i}")
    cat1 = bn_prelu(torch.cat([out1, down1, pool(x, 2)], 1), "encoder.b2")
    down2 = out2 = esp(cat1, "encoder.level3_0", down=True)
    for i in range(q):
        out2 = esp(out2, f"encoder.level3.{i}")
    cat2 = bn_prelu(torch.cat([down2, out2], 1), "encoder.b3")
    up3 = F.conv_transpose2d(bn(conv(cat2, "encoder.classifier"), "br"), sd["up_l3.0.weight"], stride=2)
    comb = esp(bn_prelu(torch.cat([conv(cat1, "level3_C"), up3], 1), "combine_l2_l3.0"), "combine_l2_l3.1", add=False)
    up2 = bn_prelu(F.conv_transpose2d(comb, sd["up_l2.0.weight"], stride=2), "up_l2.1")
    feat = bn_prelu(conv(torch.cat([up2, out0], 1), "conv"), "conv")
    return F.conv_transpose2d(feat, sd["classifier.weight"], stride=2)


def _official_class_map(sd: dict, bgr: np.ndarray) -> np.ndarray:
    """VisualizeResults.evaluateModel (modelType 1) on a cv2.imread image: the 1024x512 argmax map (0..19)."""
    import cv2
    import torch

    img = bgr.astype(np.float32)
    for j in range(3):
        img[:, :, j] -= OFFICIAL_MEAN[j]
    for j in range(3):
        img[:, :, j] /= OFFICIAL_STD[j]
    img = cv2.resize(img, (1024, 512))
    img /= 255
    img = img.transpose((2, 0, 1))
    with torch.no_grad():
        out = _official_forward(sd, torch.from_numpy(img).unsqueeze(0))
    return out[0].max(0)[1].byte().numpy()


def _to_train_ids_at(class_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Official map -> train ids (19, the ignore class, -> 255) at the label size by nearest neighbour."""
    import cv2

    ids = class_map.copy()
    ids[ids == 19] = 255
    return cv2.resize(ids, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _official_keys(model_sd: dict) -> dict:
    """This model's state dict under the official names (backbone. -> encoder., decode_head. -> top level)."""
    out = {}
    for k, v in model_sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        if k.startswith("backbone."):
            out["encoder." + k[len("backbone."):]] = v
        elif k.startswith("decode_head."):
            out[k[len("decode_head."):]] = v
        else:
            raise AssertionError(f"unexpected model tensor {k}")
    return out


def _build(checkpoint: Path | None = None):
    from mmengine.runner import load_checkpoint
    from mmseg.apis import init_model

    from uptflow.utils.mmconfig import load_config

    model = init_model(load_config(CONFIG), None, device="cpu")
    if checkpoint is not None:
        load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True)
    return model


def _randomise_bn(model, seed: int = 0) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d | torch.nn.PReLU):
            for t in (*m.parameters(), *m.buffers()):
                if t.is_floating_point():
                    t.data = torch.rand(t.shape, generator=g) + 0.5


@pytest.mark.mm
def test_model_holds_exactly_the_official_tensors_with_the_published_count():
    model = _build()
    official = _official_keys(model.state_dict())
    assert len(official) == OFFICIAL_TENSORS
    learnable = sum(v.numel() for k, v in official.items() if "running_" not in k)
    assert learnable == OFFICIAL_LEARNABLE
    for k in ("encoder.level1.conv.weight", "encoder.level3.7.bn.act.weight", "encoder.classifier.conv.weight",
              "level3_C.conv.weight", "br.running_var", "combine_l2_l3.1.d16.conv.weight", "up_l2.1.act.weight",
              "classifier.weight"):
        assert k in official, k
    assert official["classifier.weight"].shape == (20, 20, 2, 2)
    assert model.decode_head.num_classes == 20 and model.ignore_class == 19


@pytest.mark.mm
def test_official_state_dict_loads_through_load_checkpoint_and_matches_the_functional_reference(tmp_path):
    import torch
    from mmengine.runner import load_checkpoint

    torch.manual_seed(0)
    src = _build()
    _randomise_bn(src)
    official = _official_keys(src.state_dict())
    path = tmp_path / "espnet_official_layout.pth"
    torch.save(official, path)

    model = _build()
    load_checkpoint(model, str(path), map_location="cpu", strict=True)
    for k, v in _official_keys(model.state_dict()).items():
        assert torch.equal(v, official[k]), k
    x = torch.randn(2, 3, 64, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model.decode_head(model.backbone(x))
        ref = _official_forward(official, x)
    assert ours.shape == (2, 20, 64, 128)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.mm
@pytest.mark.parametrize("change", ["missing", "unexpected", "mis-shaped"])
def test_checkpoint_that_does_not_match_is_refused_naming_the_tensor(tmp_path, change):
    import torch
    from mmengine.runner import load_checkpoint

    from evaluation.segmentation.espnet import ESPNetCheckpointError

    official = _official_keys(_build().state_dict())
    if change == "missing":
        del official["encoder.level3.7.d16.conv.weight"]
        name = "backbone.level3.7.d16.conv.weight"
    elif change == "unexpected":
        official["encoder.level3.8.c1.conv.weight"] = torch.zeros(25, 128, 1, 1)
        name = "backbone.level3.8.c1.conv.weight"
    else:
        official["classifier.weight"] = torch.zeros(19, 19, 2, 2)
        name = "decode_head.classifier.weight"
    path = tmp_path / "bad.pth"
    torch.save(official, path)
    with pytest.raises(ESPNetCheckpointError, match=f"{change}.*{name}"):
        # strict=False is mmseg's init_model default: the model refuses anyway
        load_checkpoint(_build(), str(path), map_location="cpu", strict=False)


@pytest.mark.mm
def test_ignore_output_is_written_as_255_and_scores_are_replicated_to_the_original_size():
    import torch
    from mmseg.structures import SegDataSample

    model = _build()
    logits = torch.zeros(1, 20, 2, 3)
    logits[0, 5, 0, 0] = 1.0  # a class
    logits[0, 19, 0, 1] = 1.0  # the ignore output
    logits[0, 18, 1, 2] = 2.0
    logits[0, 19, 1, 2] = 1.0  # ignore is only second: the class wins
    sample = SegDataSample(metainfo=dict(ori_shape=(4, 6), img_shape=(2, 3)))
    (out,) = model.postprocess_result(logits, [sample])
    pred = out.pred_sem_seg.data[0].numpy()
    expected = np.array([[5, 255, 0], [0, 0, 18]], dtype=np.int64).repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(pred, expected)
    assert out.seg_logits.data.shape == (20, 4, 6)


@pytest.mark.mm
def test_preprocessing_normalises_in_float_before_resizing():
    from evaluation.segmentation.espnet import ESPNetNormalizeResize

    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)
    t = ESPNetNormalizeResize(scale=(24, 16))
    res = t(dict(img=bgr.copy(), ori_shape=bgr.shape[:2]))
    assert res["img"].dtype == np.float32 and res["img"].shape == (16, 24, 3)
    assert res["img_shape"] == (16, 24) and res["ori_shape"] == (37, 50)
    import cv2

    official = bgr.astype(np.float32)
    for j in range(3):
        official[:, :, j] -= OFFICIAL_MEAN[j]
    for j in range(3):
        official[:, :, j] /= OFFICIAL_STD[j]
    official = cv2.resize(official, (24, 16)) / np.float32(255)
    np.testing.assert_array_equal(res["img"], official)
    # resizing the uint8 image first (mmseg's Resize + data preprocessor) gives another input
    rounded = (cv2.resize(bgr, (24, 16)).astype(np.float32) - t.mean) / t.std / np.float32(255)
    assert not np.array_equal(rounded, official)
    with pytest.raises(ValueError, match="multiples of 8"):
        ESPNetNormalizeResize(scale=(1020, 512))


@pytest.mark.mm
@pytest.mark.realdata
@pytest.mark.slow
def test_mmseg_inference_equals_the_official_script_on_cityscapes_and_a_darkened_frame(shared):
    import cv2
    import torch
    from mmseg.apis import inference_model

    from uptflow.data.degradation import LowLightDegradation

    torch.set_num_threads(2)
    weights = shared / WEIGHTS
    sd = torch.load(weights, map_location="cpu", weights_only=True)
    model = _build(weights)
    frames = sorted((shared / FRAMES).glob("*_leftImg8bit.png"))
    assert len(frames) == 4
    rgb = cv2.imread(str(frames[0]))[..., ::-1]
    dark_rgb, _ = LowLightDegradation()(np.ascontiguousarray(rgb), np.random.default_rng(0))
    dark_bgr = np.ascontiguousarray(dark_rgb[..., ::-1])
    assert dark_bgr.mean() < 0.5 * rgb.mean()
    cases = [(f.name, str(f), cv2.imread(str(f))) for f in frames] + [("darkened", dark_bgr, dark_bgr)]
    ignored = 0
    for name, mmseg_input, bgr in cases:
        official = _official_class_map(sd, bgr)
        expected = _to_train_ids_at(official, bgr.shape[:2])
        with torch.no_grad():
            pred = inference_model(model, mmseg_input).pred_sem_seg.data[0].numpy()
        assert pred.shape == bgr.shape[:2], name
        np.testing.assert_array_equal(pred[::2, ::2], np.where(official == 19, 255, official), err_msg=name)
        np.testing.assert_array_equal(pred, expected, err_msg=name)
        assert set(np.unique(pred)) <= set(range(19)) | {255}, name
        ignored += int((official == 19).sum())
    assert ignored > 0, "no pixel took the ignore output: the 19 -> 255 mapping was not exercised"
