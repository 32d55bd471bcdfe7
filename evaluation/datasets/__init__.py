"""The dataset layer of the suite: one registered reader per dataset type, one sample record, one image listing.

See :mod:`evaluation.datasets.base`; readers live in the sibling modules and register in
``evaluation.registry.DATASETS``.
"""

from evaluation.datasets.base import Box, Dataset, DatasetReader, Sample, list_images, natural_key, read_image_raw

__all__ = ["Box", "Dataset", "DatasetReader", "Sample", "list_images", "natural_key", "read_image_raw",
           "build_reader", "dataset_types"]


def dataset_types() -> dict[str, str]:
    """Registered dataset type -> the folder layout it expects."""
    from evaluation.registry import DATASETS

    DATASETS.import_from_location()
    return {name: cls.layout for name, cls in sorted(DATASETS.module_dict.items())}


def build_reader(cfg: dict, where: str = "dataset") -> DatasetReader:
    """Build a registered reader from ``dict(type=..., **settings)``; a bad key or value raises naming it."""
    from evaluation.registry import DATASETS
    from uptflow.registry import build_checked

    return build_checked(DATASETS, cfg, where)
