"""Tattoo removal, torch-free: ``Remover``, ``Result`` and ``remove``.

>>> import skindeep
>>> result = skindeep.remove(photo)          # numpy (H, W, 3) uint8 or a PIL image
>>> result.image, result.ink_mask

``skindeep.remove`` is both this module and a function: calling the module calls ``remove`` below, so
``skindeep.remove(image)`` works whether or not ``skindeep.remove`` was imported as a module first.
"""

from __future__ import annotations

import sys
import threading
import types
from dataclasses import fields

from skindeep.remove.pipeline import PipelineConfig, Remover, Result
from skindeep.remove.session import ModelError

__all__ = ["ModelError", "PipelineConfig", "Remover", "Result", "remove", "default_remover"]

# Keywords that make the Remover (every PipelineConfig field too); the rest go to Remover.remove.
_INIT_KEYS = ("model_path", "threads", "config", *(f.name for f in fields(PipelineConfig)))
_cache: dict[tuple, Remover] = {}
_cache_lock = threading.Lock()


def default_remover(**init_kwargs) -> Remover:
    """A Remover cached per set of constructor arguments (the model is loaded once per process)."""
    key = tuple(sorted((k, repr(v)) for k, v in init_kwargs.items()))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Remover(**init_kwargs)
        return _cache[key]


def remove(image, mask=None, **kw) -> Result:
    """Remove tattoos from ``image`` with a cached default ``Remover``; see ``Remover.remove``.

    Constructor keywords (``model_path``, ``threads``, ``detect_size``...) pick/make the cached Remover;
    the others (``keep``, ``threshold``, ``strength``, ``protect_face``) go to ``Remover.remove``.
    """
    init = {k: kw.pop(k) for k in list(kw) if k in _INIT_KEYS}
    return default_remover(**init).remove(image, mask=mask, **kw)


class _CallableModule(types.ModuleType):
    def __call__(self, image, mask=None, **kw) -> Result:
        return remove(image, mask=mask, **kw)


sys.modules[__name__].__class__ = _CallableModule
