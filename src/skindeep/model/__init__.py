"""The removal model and its training pipeline (needs the ``[train]`` extra: torch).

- :mod:`skindeep.model.net`: ``SkinDeepNet`` (EfficientNet-Lite0 U-Net, ink + clean heads)
- :mod:`skindeep.model.losses`, :mod:`skindeep.model.data`, :mod:`skindeep.model.config`
- :mod:`skindeep.model.train`: the loop (``skindeep train``); :mod:`skindeep.model.export` (``skindeep export``)
- :mod:`skindeep.model.cache`: pre-write synthetic samples for training and validation
"""
