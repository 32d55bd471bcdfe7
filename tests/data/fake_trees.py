"""Tiny on-disk copies of the dataset layouts the loaders expect (a few 16x16 images each)."""

from pathlib import Path

import numpy as np

from uptflow.data.paired import SDSD_TEST_SCENES
from uptflow.utils.io import imwrite_rgb

SIZE = (16, 16)


def image(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A deterministic random uint8 RGB image."""
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def write(path: Path, seed: int, size: tuple[int, int] = SIZE) -> Path:
    """Write an image (.png) or BGR array (.npy) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, image(seed, size)[..., ::-1])
    else:
        imwrite_rgb(path, image(seed, size))
    return path


def make_lol(root: Path) -> Path:
    for split, names in (("our485", ("2", "10", "5")), ("eval15", ("1",))):
        for i, n in enumerate(names):
            write(root / split / "low" / f"{n}.png", i)
            write(root / split / "high" / f"{n}.png", 100 + i)
    return root


def make_lolv2(root: Path) -> Path:
    for split, n in (("Train", 3), ("Test", 2)):
        for i in range(1, n + 1):
            write(root / "Real_captured" / split / "Low" / f"low{i:05d}.png", i)
            write(root / "Real_captured" / split / "Normal" / f"normal{i:05d}.png", 100 + i)
            write(root / "Synthetic" / split / "Low" / f"r{i:03d}.png", i)
            write(root / "Synthetic" / split / "Normal" / f"r{i:03d}.png", 100 + i)
    return root


def make_fivek(root: Path, n: int = 100) -> Path:
    for i in range(n):
        write(root / "input" / f"a{i:04d}.png", i, (8, 8))
        write(root / "expertC" / f"a{i:04d}.png", 1000 + i, (8, 8))
    return root


def make_smid(root: Path) -> Path:
    for s, scene in enumerate(("0001", "0002", "0003")):
        for f in range(2):
            write(root / "SMID_LQ_np" / scene / f"{f:04d}.npy", 10 * s + f)
        write(root / "SMID_Long_np" / scene / "0001.npy", 100 + s)
    (root / "test_list.txt").write_text("0002\n")
    return root


def make_sdsd(root: Path, subset: str = "indoor") -> Path:
    base = root / f"{subset}_static_np"
    scenes = (*SDSD_TEST_SCENES[subset], "pair900", "pair901")
    for s, scene in enumerate(scenes):
        write(base / "input" / scene / "0001.npy", s)
        write(base / "GT" / scene / "0001.npy", 100 + s)
    return root
