"""Contact sheets of a checkpoint's raw output, to look at: input | ink probability | clean (| truth).

    python -m skindeep.model.sheet --checkpoint runs/main/best.pt --val cache/val --out runs/main/val.png
    python -m skindeep.model.sheet --checkpoint runs/main/best.pt --photos ../shared/data/real-dev \\
        --out runs/main/real.png --n 8

Photos are shrunk so the long side is ``--side`` (the scale the network was trained at) and run through
the bare network (no thresholding, no compositing: that is ``skindeep.remove``'s job).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from skindeep.model.checkpoint import model_from_checkpoint
from skindeep.model.data import list_samples, read_triple
from skindeep.model.net import predict


@torch.no_grad()
def run(model: torch.nn.Module, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H,W,3) uint8 -> (ink prob (H,W) uint8 0..255, clean (H,W,3) uint8)."""
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    prob, clean = predict(model, x)
    to8 = lambda t: (t.numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)  # noqa: E731
    return to8(prob[0, 0]), to8(clean[0].permute(1, 2, 0))


def _shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    f = side / max(rgb.shape[:2])
    if f >= 1:
        return rgb
    return cv2.resize(rgb, (round(rgb.shape[1] * f), round(rgb.shape[0] * f)), interpolation=cv2.INTER_AREA)


def _row(images: list[np.ndarray], height: int) -> np.ndarray:
    out = []
    for im in images:
        im = np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im
        w = round(im.shape[1] * height / im.shape[0])
        out.append(cv2.resize(im, (w, height), interpolation=cv2.INTER_AREA))
    return np.concatenate(out, 1)


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], 0)


def val_sheet(model, folder: str | Path, n: int, height: int = 200) -> np.ndarray:
    """Rows of tattooed | predicted ink | predicted clean | true clean | true ink."""
    rows = []
    for name in list_samples(folder)[:n]:
        t = read_triple(folder, name)
        prob, clean = run(model, t.tattooed)
        rows.append(_row([t.tattooed, prob, clean, t.clean, t.ink], height))
    return _stack(rows)


def photo_sheet(model, folder: str | Path, n: int, side: int, height: int = 240) -> np.ndarray:
    """Rows of photo | predicted ink | predicted clean for the first ``n`` JPEG/PNG photos of ``folder``."""
    return compare_sheet([model], folder, n, side, height)


def compare_sheet(models: list, folder: str | Path, n: int, side: int, height: int = 240) -> np.ndarray:
    """Rows of photo | ink | clean of the first model | ink | clean of the next ... for the first ``n``
    JPEG/PNG photos of ``folder`` (e.g. the shipped model next to a new run's)."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    paths = [p for p in paths if ".skin" not in p.name and ".mask" not in p.name][:n]
    rows = []
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        rgb = _shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), side)
        rows.append(_row([rgb] + [im for model in models for im in run(model, rgb)], height))
    return _stack(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--val", help="sample folder (cache/val)")
    ap.add_argument("--photos", help="folder of photos (e.g. ../shared/data/real-dev)")
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--side", type=int, default=512)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, _, state = model_from_checkpoint(a.checkpoint)
    sheet = val_sheet(model, a.val, a.n) if a.val else photo_sheet(model, a.photos, a.n, a.side)
    cv2.imwrite(a.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"{a.out}: step {state.get('step')}")


if __name__ == "__main__":
    main()
