"""Builders of small synthetic ExDark folders (flat and official layouts) for the dataset and detection tests."""

from pathlib import Path

import numpy as np
from PIL import Image

HEADER = "% bbGt version=3"


def write_image(path: Path, w: int = 64, h: int = 48, seed: int = 0, exif_orientation: int | None = None) -> Path:
    """Write a random dark RGB image (JPEG/PNG by extension), optionally with an EXIF orientation tag."""
    rng = np.random.default_rng(seed)
    arr = (rng.random((h, w, 3)) * 60).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(arr)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(path, format=fmt, exif=exif)
    else:
        im.save(path, format=fmt)
    return path


def write_bbgt(path: Path, rows: list[str], newline: str = "\n") -> Path:
    """Write a bbGt v3 file with the given object rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join([HEADER, *rows, ""]).encode())
    return path


def write_classlist(path: Path, rows: list[str]) -> Path:
    """Write imageclasslist.txt with CRLF line endings, as released."""
    path.write_bytes("\r\n".join(["Name | Class | Light | In/Out | Train/Val/Test", *rows, ""]).encode())
    return path


def flat_dataset(root: Path) -> Path:
    """Three images (mixed extension case) with annotations and a CRLF class list; one box sticks out."""
    write_image(root / "images" / "2015_00001.jpg", seed=1)
    write_image(root / "images" / "2015_00002.PNG", seed=2)
    write_image(root / "images" / "2015_00003.JPG", seed=3)
    write_bbgt(root / "annotations" / "2015_00001.jpg.txt", ["Bicycle 10 5 20 30 0 0 0 0 0 0 0"], newline="\r\n")
    write_bbgt(root / "annotations" / "2015_00002.png.txt",
               ["People 50 20 30 40 0 0 0 0 0 0 0", "car 1 1 10 10 0 0 0 0 0 0 0"])
    write_bbgt(root / "annotations" / "2015_00003.JPG.txt", ["Dog 0 0 64 48 0 0 0 0 0 0 0"])
    write_classlist(root / "imageclasslist.txt",
                    ["2015_00001.jpg 1 1 1 1", "2015_00002.png 11 5 2 3", "2015_00003.jpg 9 10 2 3"])
    return root


def official_dataset(root: Path) -> Path:
    """ExDark/<Class>/ and ExDark_Annno/<Class>/ with a class list in Groundtruth/."""
    write_image(root / "ExDark" / "Bus" / "2015_02154.jpg", seed=4)
    write_image(root / "ExDark" / "Cup" / "2015_03000.JPEG", seed=5)
    write_bbgt(root / "ExDark_Annno" / "Bus" / "2015_02154.jpg.txt", ["Bus 16 8 40 30 0 0 0 0 0 0 0"])
    write_bbgt(root / "ExDark_Annno" / "Cup" / "2015_03000.JPEG.txt",
               ["Cup 5 5 10 10 0 0 0 0 0 0 0", "Table 0 30 64 18 0 0 0 0 0 0 0"])
    (root / "Groundtruth").mkdir(parents=True)
    write_classlist(root / "Groundtruth" / "imageclasslist.txt", ["2015_02154.jpg 4 3 2 2", "2015_03000.jpeg 8 7 1 3"])
    return root
