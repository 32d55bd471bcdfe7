"""Example: the MAET/IAT ExDark protocol with UPT-Flow enhancing each test image inside mmdet's pipeline.

The ``EnhanceLowLight`` transform goes right after ``LoadImageFromFile``; any registered enhancer works
(``enhancer=dict(type='clahe')``, ``dict(type='zero_dce', weights=...)``). Enhanced images are cached on disk,
keyed by enhancer, parameters and weights checksum, so repeated evaluations enhance each image once.
Without ``weights`` UPT-Flow runs the default model shipped in the package (docs/model-card.md; trained by uptflow
on synthetic low light, not the authors' weights). For the authors' or your own checkpoint, set it in
``test_pipeline`` and in both loaders, which mmengine resolved before any override (``--cfg-options`` edits one key
each; the detectors refuse a config whose ``test_pipeline`` and test loader enhance differently):
``--cfg-options test_pipeline.1.enhancer.weights=/path/to.pth
test_dataloader.dataset.pipeline.1.enhancer.weights=/path/to.pth
val_dataloader.dataset.pipeline.1.enhancer.weights=/path/to.pth``.
"""

_base_ = ["./yolov3_d53_exdark_608_random.py"]

test_pipeline = [
    dict(type="LoadImageFromFile"),
    # the uptflow scope finds the transform without custom_imports (which would replace a base's list)
    dict(type="uptflow.EnhanceLowLight", enhancer=dict(type="uptflow")),
    dict(type="Resize", scale=(608, 608), keep_ratio=True),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
