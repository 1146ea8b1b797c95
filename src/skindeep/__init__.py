"""skindeep: remove tattoos from photos and videos.

The top level stays light: `remove`, `Remover` and `Result` are imported on first use so that
``import skindeep`` costs nothing and never pulls in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["remove", "Remover", "Result", "__version__"]

if TYPE_CHECKING:
    from skindeep.remove import Remover, Result, remove


def __getattr__(name: str) -> Any:
    if name in ("remove", "Remover", "Result"):
        # import_module, not `from skindeep import remove`: that would re-enter this __getattr__.
        return getattr(importlib.import_module("skindeep.remove"), name)
    raise AttributeError(f"module 'skindeep' has no attribute {name!r}")
