"""Datasets and transforms for training and evaluating low-light enhancers (registered in uptflow.registry)."""

from uptflow.data.paired import (
    IMG_EXTENSIONS,
    SDSD_TEST_SCENES,
    FiveKDataset,
    LOLDataset,
    LOLv2Dataset,
    PairedImageDataset,
    SDSDDataset,
    SMIDDataset,
    UnpairedImageDataset,
    list_images,
    match_pairs,
)
from uptflow.data.synthetic import (
    SKIMAGE_PHOTOS,
    LowLightDegradation,
    SkimagePhotoPairs,
    SyntheticLowLightDataset,
    load_skimage_photo,
)
from uptflow.data.transforms import (
    AddPointMap,
    LoadImagePair,
    PackPairedInputs,
    PairedCenterCrop,
    PairedHFlip,
    PairedRandomCrop,
    read_image,
)

__all__ = [
    "IMG_EXTENSIONS", "SDSD_TEST_SCENES", "FiveKDataset", "LOLDataset", "LOLv2Dataset", "PairedImageDataset",
    "SDSDDataset", "SMIDDataset", "UnpairedImageDataset", "list_images", "match_pairs",
    "SKIMAGE_PHOTOS", "LowLightDegradation", "SkimagePhotoPairs", "SyntheticLowLightDataset", "load_skimage_photo",
    "AddPointMap", "LoadImagePair", "PackPairedInputs", "PairedCenterCrop", "PairedHFlip", "PairedRandomCrop",
    "read_image",
]
