"""A seconds-sized version of configs/uptflow/uptflow_tiny_synthetic.py for engine tests."""

from pathlib import Path

from uptflow.engine.train import prepare_config

ROOT = Path(__file__).resolve().parents[2]
TINY_CONFIG = ROOT / "configs" / "uptflow" / "uptflow_tiny_synthetic.py"

# smallest network the model accepts in reasonable shape: window 2 at 1/8 of a 16-pixel crop
TINY_NETWORK = dict(window_size=2, encoder_dim=8, K=1, hidden=8)


def tiny_cfg(work_dir: Path, max_iters: int = 4, val_interval: int = 1000, ckpt_interval: int = 2,
             crop: int = 16, resume: str | None = None, **options):
    """Prepared config: tiny network, 2 small photos, CPU, no TensorBoard, no progress bar."""
    cfg_options = {
        "model.network": TINY_NETWORK,
        "train_dataloader.batch_size": 2,
        "train_dataloader.dataset.photos": ("astronaut", "coffee"),
        "train_dataloader.dataset.max_side": 32,
        "train_dataloader.dataset.pipeline.0.crop_size": crop,
        "val_dataloader.dataset.photos": ("chelsea",),
        "val_dataloader.dataset.max_side": 24,
        "train_cfg.max_iters": max_iters,
        "train_cfg.val_interval": val_interval,
        "default_hooks.checkpoint.interval": ckpt_interval,
        "default_hooks.logger.interval": 1,
        "visualizer.vis_backends": [dict(type="LocalVisBackend")],
        "custom_hooks": [dict(type="RNGStateHook"), dict(type="ExportModelHook"),
                         dict(type="ProgressBarHook", disable=True)],
        "log_level": "WARNING",
        **options,
    }
    return prepare_config(TINY_CONFIG, work_dir=str(work_dir), cfg_options=cfg_options, resume=resume)
