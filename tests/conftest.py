"""Shared fixtures: seeded RNG, the shared data folder (skip with the reason when absent), offline guards."""

import os
import random
from pathlib import Path

import numpy as np
import pytest

# Keep every library off the network during tests (ultralytics settings/hub checks, HF hubs).
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("UPTFLOW_OFFLINE", "1")


@pytest.fixture
def seed() -> int:
    """Seed python, numpy and torch; return the seed."""
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    return 0


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path of ../shared (or $UPTFLOW_SHARED); skips the test with the reason when it is absent."""
    from uptflow.utils.paths import shared_root

    root = shared_root()
    if root is None:
        pytest.skip("shared data not found: set $UPTFLOW_SHARED or place it at ../shared beside the checkout")
    return root


@pytest.fixture(scope="session")
def golden(shared: Path) -> Path:
    """Path of the golden reference folder (official-format weights and official outputs)."""
    g = shared / "golden"
    if not (g / "reference_outputs.npz").is_file():
        pytest.skip(f"golden reference data not found under {g}")
    return g


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``mm`` with a clear reason when mmcv with compiled ops is not installed."""
    try:
        import mmcv.ops  # noqa: F401

        have_mm = True
    except Exception:  # noqa: BLE001 - any import failure means the compiled stack is unusable
        have_mm = False
    if have_mm or os.environ.get("UPTFLOW_REQUIRE_MM"):
        return
    skip = pytest.mark.skip(reason="mmcv with compiled ops is not installed: run `uptflow setup-mm` first")
    for item in items:
        if "mm" in item.keywords:
            item.add_marker(skip)
