"""Low-light object detection (ExDark, COCO layout): detectors, exports, scoring, training and the command.

Submodules are imported on use (``.benchmark``, ``.detectors``, ``.export``, ``.scoring``, ``.finetune``,
``.train``); importing
the package itself stays cheap.
"""
