"""Checkpoints: model + optimizer + schedule position + best validation score, written atomically.

A checkpoint is a dict saved with ``torch.save``::

    {"model": state_dict, "optimizer": ..., "scheduler": ..., "stage": int, "stage_step": int,
     "step": int, "best": float | None, "config": TrainConfig as dict, "metrics": dict, "seconds": float}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from skindeep.errors import InputError
from skindeep.model.config import TrainConfig, config_from_dict
from skindeep.model.net import SkinDeepNet, build_model


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` via a temporary file and rename, so a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict; raises :class:`InputError` naming the file when it is missing or not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many kinds for a corrupt file
        raise InputError(f"{path}: not a readable torch checkpoint ({exc})") from exc
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise InputError(f"{path}: not a skindeep checkpoint (no 'model'/'config' entries)")
    return state


def read_start(path: str | Path, model_cfg) -> tuple[Any, dict[str, Any]]:
    """What a fine-tune starts from, read once: ``model_cfg`` with the skin part of the start (its skin head or
    skin network, which the fine-tune keeps whatever the config says) and the state dict. ``path`` is a
    checkpoint (its ``model``) or an ``.onnx`` file (the shipped model: the network rebuilt from it,
    ``skindeep.model.from_onnx``; no torch state has to be kept in the repository)."""
    from dataclasses import replace

    if Path(path).suffix.lower() == ".onnx":
        from skindeep.model.from_onnx import model_from_onnx

        model = model_from_onnx(path, model_cfg)
        # The rebuilt network's shape is the one its skin part fitted: read it off the network, not the file.
        skin = {"skin_head": model.skin_head is not None, "skin_net": model.skin_net is not None}
        return replace(model_cfg, **skin), model.state_dict()
    state = load_checkpoint(path)
    saved = (state.get("config") or {}).get("model") or {}
    return replace(model_cfg, **{k: saved[k] for k in ("skin_head", "skin_net") if k in saved}), state["model"]


def model_from_checkpoint(path: str | Path) -> tuple[SkinDeepNet, TrainConfig, dict[str, Any]]:
    """Rebuild the network from a checkpoint (no pretrained download/load needed), in eval mode."""
    state = load_checkpoint(path)
    cfg = config_from_dict(state["config"], str(path))
    model = build_model(cfg.model, pretrained=False)
    model.load_state_dict(state["model"])
    return model.eval(), cfg, state


def slim_checkpoint(src: str | Path, dst: str | Path, half: bool = True) -> Path:
    """Write the weights-only part of a checkpoint (no optimizer), small enough to commit.

    It is what the next session starts from with ``skindeep train --init DST`` (a fresh schedule);
    ``half`` stores float tensors as float16 (load_state_dict converts them back to float32).
    """
    state = load_checkpoint(src)
    weights = {
        k: (v.half() if half and v.is_floating_point() else v) for k, v in state["model"].items()
    }
    keep = {k: state[k] for k in ("step", "stage", "best", "config", "metrics", "seconds") if k in state}
    save_checkpoint(dst, {"model": weights, **keep, "slim_from": str(src)})
    return Path(dst)
