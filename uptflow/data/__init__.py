"""Datasets and transforms for training and evaluating low-light enhancers (registered in uptflow.registry)."""

from uptflow.data.degradation import (
    DARKNESS_LEVELS,
    TONE_CURVES,
    LowLightDegradation,
    build_degradation,
    darkness_level,
)
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
from uptflow.data.photos import PhotoLowLightPairs, RandomRescale, SynthesizeLowLight
from uptflow.data.synthetic import (
    SKIMAGE_PHOTOS,
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
    "DARKNESS_LEVELS", "TONE_CURVES", "LowLightDegradation", "build_degradation", "darkness_level",
    "PhotoLowLightPairs", "RandomRescale", "SynthesizeLowLight",
    "IMG_EXTENSIONS", "SDSD_TEST_SCENES", "FiveKDataset", "LOLDataset", "LOLv2Dataset", "PairedImageDataset",
    "SDSDDataset", "SMIDDataset", "UnpairedImageDataset", "list_images", "match_pairs",
    "SKIMAGE_PHOTOS", "SkimagePhotoPairs", "SyntheticLowLightDataset", "load_skimage_photo",
    "AddPointMap", "LoadImagePair", "PackPairedInputs", "PairedCenterCrop", "PairedHFlip", "PairedRandomCrop",
    "read_image",
]
