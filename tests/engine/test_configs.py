"""Every training config loads, follows the paper's settings, and builds (datasets on fake trees, tiny model)."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

import uptflow.data  # noqa: F401 - registers datasets / transforms
import uptflow.engine  # noqa: F401 - registers wrapper, hooks, optimizer wrappers, metric
from tests.data import fake_trees
from tests.engine.tiny import ROOT, TINY_NETWORK
from uptflow.engine.train import prepare_config
from uptflow.registry import DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS

CONFIG_DIR = ROOT / "configs" / "uptflow"
DEFAULT_MODEL = "uptflow_small_photo-synthetic_cpu.py"  # trains the packaged default model
CONTINUE_DEFAULT = "uptflow_small_photo-synthetic_cpu_ft.py"  # continues training it from the packaged weights
WITH_LIGHTS = "uptflow_small_photo-synthetic_cpu_lights.py"  # the same, with light sources in half the crops
MY_PAIRS = "uptflow_small_my-pairs_cpu.py"  # fine-tunes it on a user's own folder of pairs
FULL_SIZE_GPU = "uptflow_photo-synthetic_gpu.py"  # the paper's network on the default model's data, on a GPU
PAPER = {  # config -> (window size, fake-tree maker)
    "uptflow_lolv2-real_50k.py": (5, fake_trees.make_lolv2),
    "uptflow_lolv2-syn_50k.py": (5, fake_trees.make_lolv2),
    "uptflow_fivek_50k.py": (8, fake_trees.make_fivek),
    "uptflow_smid_50k.py": (8, fake_trees.make_smid),
    "uptflow_sdsd-in_50k.py": (8, lambda root: fake_trees.make_sdsd(root, "indoor")),
    "uptflow_sdsd-out_50k.py": (8, lambda root: fake_trees.make_sdsd(root, "outdoor")),
}


def test_every_config_is_covered():
    assert sorted(p.name for p in CONFIG_DIR.glob("*.py")) == sorted([*PAPER, "uptflow_tiny_synthetic.py",
                                                                      DEFAULT_MODEL, CONTINUE_DEFAULT, WITH_LIGHTS,
                                                                      MY_PAIRS, FULL_SIZE_GPU])


def _check_types(cfg: Config) -> None:
    assert MODELS.get(cfg.model.type) is not None and MODELS.get(cfg.model.network.type) is not None
    assert OPTIM_WRAPPERS.get(cfg.optim_wrapper.type) is not None
    assert METRICS.get(cfg.val_evaluator.type) is not None
    for hook in cfg.custom_hooks:
        assert HOOKS.get(hook.type) is not None, hook.type
    assert cfg.default_hooks.checkpoint.save_best == "psnr" and cfg.default_hooks.checkpoint.rule == "greater"
    assert cfg.default_hooks.checkpoint.backend_args == dict(backend="atomic_local")


def _build_datasets(cfg: Config, root: Path) -> None:
    for key, split_len in (("train_dataloader", None), ("val_dataloader", None)):
        ds_cfg = copy.deepcopy(cfg[key].dataset.to_dict())
        ds_cfg["data_root"] = str(root)
        ds = DATASETS.build(ds_cfg)
        assert len(ds) > 0, (key, split_len)
        if key == "val_dataloader":
            sample = ds[0]
            assert sample["inputs"]["low"].shape == sample["inputs"]["gt"].shape


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_config_follows_the_paper_and_builds(name, tmp_path):
    window, make_tree = PAPER[name]
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    _check_types(cfg)
    assert cfg.model.network.window_size == window
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.weight_decay) == ("Adam", 2e-4, (0.9, 0.999), 0.0)
    max_iters = cfg.train_cfg.max_iters
    assert max_iters == 50000 and cfg.train_cfg.val_interval == 500
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.start_factor) == ("LinearLR", 800, 1 / 800)
    assert steps.type == "MultiStepLR" and steps.gamma == 0.5
    assert steps.milestones == [int(max_iters * f) for f in (0.4, 0.6, 0.8, 0.9)]
    assert cfg.train_dataloader.batch_size == 8 and cfg.val_dataloader.batch_size == 1
    crop = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == "PairedRandomCrop")
    assert crop.crop_size == 160
    _build_datasets(cfg, make_tree(tmp_path / "data"))
    tiny = copy.deepcopy(cfg.model.to_dict())
    tiny["network"].update({k: v for k, v in TINY_NETWORK.items() if k != "window_size"})
    model = MODELS.build(tiny)
    assert model.net.config["window_size"] == window


@pytest.mark.parametrize("name", sorted(PAPER))
def test_missing_dataset_is_reported_before_training(name, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_root = '.*' does not exist.*--cfg-options"):
        prepare_config(CONFIG_DIR / name, work_dir=str(tmp_path))


def test_data_root_option_reaches_every_dataset(tmp_path):
    fake_trees.make_lolv2(tmp_path)
    cfg = prepare_config(CONFIG_DIR / "uptflow_lolv2-real_50k.py", work_dir=str(tmp_path / "w"),
                         cfg_options={"data_root": str(tmp_path)})
    assert cfg.train_dataloader.dataset.data_root == cfg.val_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.optim_wrapper.type in ("SafeOptimWrapper", "SafeAmpOptimWrapper")


def test_tiny_config_is_cpu_sized():
    cfg = Config.fromfile(str(CONFIG_DIR / "uptflow_tiny_synthetic.py"))
    _check_types(cfg)
    crop = cfg.train_dataloader.dataset.pipeline[0].crop_size
    window = cfg.model.network.window_size
    assert crop % (8 * window) == 0
    assert cfg.model.network.encoder_dim <= 16 and cfg.train_cfg.max_iters <= 200
    assert not set(cfg.train_dataloader.dataset.photos) & set(cfg.val_dataloader.dataset.photos)


def _photo_tree(root: Path, photo_dirs) -> Path:
    """Made-up photos in every folder the config names, enough for its train and val splits."""
    from uptflow.utils.io import imwrite_rgb

    rng = np.random.default_rng(0)
    for folder in photo_dirs:
        for i in range(40):
            imwrite_rgb(root / folder / f"{i}.jpg", rng.integers(0, 256, (170, 200, 3), dtype=np.uint8))
    return root


def test_default_model_config_is_cpu_sized_and_builds(tmp_path):
    cfg = Config.fromfile(str(CONFIG_DIR / DEFAULT_MODEL))
    _check_types(cfg)
    net_cfg = cfg.model.network
    crop = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == "PairedRandomCrop").crop_size
    assert crop % (8 * net_cfg.window_size) == 0
    assert cfg.optim_wrapper.type == "SafeBf16OptimWrapper"
    net = MODELS.build(net_cfg.to_dict())
    # shipped in float16 inside the package: at most 15 MB
    assert sum(p.numel() for p in net.parameters()) * 2 / 2**20 < 15
    assert (net.config["encoder_dim"], net.config["K"], net.config["hidden"]) == (24, 4, 48)
    root = _photo_tree(tmp_path / "data", cfg.photo_dirs)
    _build_datasets(cfg, root)


def test_full_size_gpu_config_trains_the_paper_network_on_the_default_models_data(tmp_path):
    gpu, cpu = (Config.fromfile(str(CONFIG_DIR / name)) for name in (FULL_SIZE_GPU, DEFAULT_MODEL))
    _check_types(gpu)
    net = MODELS.build(gpu.model.network.to_dict())
    assert (net.config["encoder_dim"], net.config["K"], net.config["hidden"]) == (48, 8, 64)
    crop = next(t for t in gpu.train_dataloader.dataset.pipeline if t.type == "PairedRandomCrop").crop_size
    assert crop % (8 * gpu.model.network.window_size) == 0
    for key in ("photo_dirs", "skimage_photos"):
        assert gpu.train_dataloader.dataset[key] == cpu.train_dataloader.dataset[key]

    def without_crop(pipeline):  # the same transforms as the default model's, at another crop size
        return [{k: v for k, v in t.items() if k not in ("crop_size", "min_side")} for t in pipeline]

    assert without_crop(gpu.train_dataloader.dataset.pipeline) == without_crop(cpu.train_dataloader.dataset.pipeline)
    assert gpu.val_dataloader.dataset.to_dict() == cpu.val_dataloader.dataset.to_dict()
    _build_datasets(gpu, _photo_tree(tmp_path / "data", gpu.photo_dirs))


@pytest.mark.parametrize("device, amp, wrapper", [("cpu", True, "SafeBf16OptimWrapper"),
                                                   ("cpu", False, "SafeOptimWrapper"),
                                                   ("cuda", False, "SafeOptimWrapper"),
                                                   ("cuda", True, "SafeAmpOptimWrapper")])
def test_gpu_amp_wrapper_is_kept_on_a_gpu_with_amp_else_replaced(tmp_path, device, amp, wrapper, monkeypatch):
    # preparing a config touches no GPU, so the CUDA cases run anywhere as if one were visible; a CPU with bf16
    # instructions is assumed
    monkeypatch.setattr("uptflow.utils.devices.native_bf16", lambda device: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: device == "cuda")
    root = tmp_path / "data"
    root.mkdir()
    cfg = prepare_config(CONFIG_DIR / FULL_SIZE_GPU, work_dir=str(tmp_path / "w"), amp=amp, device=device,
                         cfg_options={"data_root": str(root)})
    assert cfg.optim_wrapper.type == wrapper
    assert cfg.optim_wrapper.get("dtype") == ("bfloat16" if wrapper == "SafeAmpOptimWrapper" else None)
    if device == "cpu":
        assert OPTIM_WRAPPERS.build(dict(cfg.optim_wrapper.to_dict(), optimizer=torch.optim.SGD(
            [torch.nn.Parameter(torch.zeros(1))], lr=0.1))).__class__.__name__ == wrapper


def test_preparing_a_config_for_an_unknown_device_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="^device gpu: .*device string"):
        prepare_config(CONFIG_DIR / FULL_SIZE_GPU, work_dir=str(tmp_path / "w"), device="gpu")


def test_continuation_config_starts_from_the_packaged_model_with_its_network(tmp_path):
    from uptflow.models.checkpoint import DEFAULT_WEIGHTS, load_checkpoint

    base, cont = (Config.fromfile(str(CONFIG_DIR / name)) for name in (DEFAULT_MODEL, CONTINUE_DEFAULT))
    assert cont.model.weights == "default" and cont.model.network == base.model.network
    assert cont.optim_wrapper.optimizer.lr < base.optim_wrapper.optimizer.lr
    _, steps = cont.param_scheduler
    assert max(steps.milestones) < cont.train_cfg.max_iters and cont.randomness.seed != base.randomness.seed
    model = MODELS.build(cont.model.to_dict())  # loads the packaged weights into the config's network
    shipped = load_checkpoint(DEFAULT_WEIGHTS)[0]
    key = next(k for k in shipped if k.endswith("temperature"))
    torch.testing.assert_close(model.net.state_dict()[key], shipped[key].float())


def test_lights_config_trains_the_packaged_model_on_crops_with_lamps_and_validates_without(tmp_path):
    cont, lights = (Config.fromfile(str(CONFIG_DIR / name)) for name in (CONTINUE_DEFAULT, WITH_LIGHTS))
    _check_types(lights)
    assert lights.model == cont.model and lights.val_dataloader == cont.val_dataloader
    assert lights.randomness.seed != cont.randomness.seed
    root = _photo_tree(tmp_path / "data", lights.photo_dirs)
    train = DATASETS.build(dict(lights.train_dataloader.dataset.to_dict(), data_root=str(root)))
    np.random.seed(0)
    drawn = [train[i % len(train)]["data_samples"].metainfo["degradation"]["lights"] for i in range(12)]
    assert 0 < sum(bool(d) for d in drawn) < 12  # about half the crops get lamps
    val = DATASETS.build(dict(lights.val_dataloader.dataset.to_dict(), data_root=str(root)))
    assert "lights" not in val[0]["data_samples"].metainfo["degradation"]


def test_own_pairs_config_reads_a_folder_of_pairs_given_by_data_root(tmp_path):
    from uptflow.utils.io import imwrite_rgb

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 1)):
        for i in range(n):
            for kind in ("low", "high"):
                imwrite_rgb(tmp_path / "data" / split / kind / f"{i}.png",
                            rng.integers(0, 256, (130, 150, 3), dtype=np.uint8))
    with pytest.raises(FileNotFoundError, match="data_root = 'data/my_pairs' does not exist"):
        prepare_config(CONFIG_DIR / MY_PAIRS, work_dir=str(tmp_path / "w"))
    cfg = prepare_config(CONFIG_DIR / MY_PAIRS, work_dir=str(tmp_path / "w"),
                         cfg_options={"data_root": str(tmp_path / "data")})
    _check_types(cfg)
    cont = Config.fromfile(str(CONFIG_DIR / CONTINUE_DEFAULT))
    assert cfg.model.weights == "default" and cfg.model.network == cont.model.network
    train, val = (DATASETS.build(cfg[k].dataset.to_dict()) for k in ("train_dataloader", "val_dataloader"))
    assert (len(train), len(val)) == (3, 1)
    crop = train[0]["inputs"]["low"]
    assert tuple(crop.shape[-2:]) == (cfg.crop_size, cfg.crop_size) and cfg.crop_size % (8 * 5) == 0
    assert val[0]["inputs"]["low"].shape[-2:] == (130, 150)


def test_overrides_may_unset_a_value_with_none(tmp_path):
    from tests.engine.tiny import TINY_CONFIG

    cfg = prepare_config(TINY_CONFIG, work_dir=str(tmp_path), cfg_options={"randomness.seed": None})
    assert cfg.randomness.seed is None  # mmengine then draws a seed


def test_no_amp_turns_cpu_bf16_off(tmp_path, monkeypatch):
    from tests.engine.tiny import TINY_CONFIG

    monkeypatch.setattr("uptflow.utils.devices.native_bf16", lambda device: True)
    options = {"optim_wrapper.type": "SafeBf16OptimWrapper"}
    cfg = prepare_config(TINY_CONFIG, work_dir=str(tmp_path), cfg_options=options, amp=False)
    assert cfg.optim_wrapper.type == "SafeOptimWrapper"
    cfg = prepare_config(TINY_CONFIG, work_dir=str(tmp_path), cfg_options=options)
    assert cfg.optim_wrapper.type == ("SafeAmpOptimWrapper" if torch.cuda.is_available() else "SafeBf16OptimWrapper")


def test_a_cpu_without_bf16_instructions_trains_in_float32_and_says_so(tmp_path, monkeypatch):
    from tests.engine.tiny import TINY_CONFIG

    monkeypatch.setattr("uptflow.utils.devices.native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="this CPU has no bf16 instructions"):
        cfg = prepare_config(TINY_CONFIG, work_dir=str(tmp_path), device="cpu",
                             cfg_options={"optim_wrapper.type": "SafeBf16OptimWrapper"})
    assert cfg.optim_wrapper.type == "SafeOptimWrapper"


@pytest.mark.realdata
def test_default_model_config_finds_the_shared_photos(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("UPTFLOW_SHARED", str(shared))
    cfg = prepare_config(CONFIG_DIR / DEFAULT_MODEL, work_dir=str(tmp_path))
    assert cfg.train_dataloader.dataset.data_root == str(shared / "data")
    ds = DATASETS.build(cfg.val_dataloader.dataset.to_dict())
    sample = ds[0]
    assert sample["inputs"]["low"].shape == sample["inputs"]["gt"].shape == (3, 160, 160)
