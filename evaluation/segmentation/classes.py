"""The 19 Cityscapes training classes: names, palette, the official id -> trainId table and colouring."""

import numpy as np

__all__ = ["CLASSES", "PALETTE", "IGNORE_INDEX", "ID_TO_TRAINID", "labelids_to_trainids", "trainids_to_labelids",
           "colorize"]

CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)
PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
    (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)
IGNORE_INDEX = 255

# cityscapesScripts helpers/labels.py: label id -> train id (255 = ignored in evaluation); ids 0-33
# (-1 "license plate" never appears in the uint8 labelIds PNGs)
ID_TO_TRAINID: dict[int, int] = {
    0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255, 7: 0, 8: 1, 9: 255, 10: 255, 11: 2, 12: 3, 13: 4,
    14: 255, 15: 255, 16: 255, 17: 5, 18: 255, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
    27: 14, 28: 15, 29: 255, 30: 255, 31: 16, 32: 17, 33: 18,
}

_LUT = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _id, _train in ID_TO_TRAINID.items():
    _LUT[_id] = _train

# train id -> its label id (the official submission format); ignored / unknown ids -> 0 ("unlabeled")
_INV_LUT = np.zeros(256, dtype=np.uint8)
for _id, _train in ID_TO_TRAINID.items():
    if _train != IGNORE_INDEX:
        _INV_LUT[_train] = _id

_COLOR_LUT = np.zeros((256, 3), dtype=np.uint8)
_COLOR_LUT[: len(PALETTE)] = np.asarray(PALETTE, dtype=np.uint8)


def labelids_to_trainids(label_ids: np.ndarray) -> np.ndarray:
    """Map a Cityscapes labelIds map (uint8 HxW) to the 19 train ids, everything else to 255."""
    return _LUT[np.asarray(label_ids, dtype=np.uint8)]


def trainids_to_labelids(train_ids: np.ndarray) -> np.ndarray:
    """Map a trainIds map (uint8 HxW) to Cityscapes label ids (the format of cityscapesScripts' evaluation)."""
    return _INV_LUT[np.asarray(train_ids, dtype=np.uint8)]


def colorize(train_ids: np.ndarray) -> np.ndarray:
    """Colour a trainIds map with the Cityscapes palette (ignored / unknown ids are black); returns HxWx3 RGB."""
    return _COLOR_LUT[np.asarray(train_ids, dtype=np.uint8)]
