"""ExDark low-light detection: reader, splits, exports, detectors, scoring, training and the evaluation command.

Submodules are imported on use (``evaluation.detection.exdark``, ``.splits``, ``.export``, ``.detectors``,
``.scoring``, ``.pipeline``, ``.train``); importing the package itself stays cheap.
"""
