"""Lift the ink of real tattoos off their skin, as layers for the synthetic engine (issue 15, experiment 45).

Self-training on real photos (experiments 17-42) taught the detector new ink and new false alarms together:
its labels on a real photo are guesses on both sides of every line. Here the real ink moves instead. Under
each tattoo box of real-train's train split the bare skin is predicted from the skin around the box and the
bare skin inside it (``skindeep.model.pseudo.predicted_skin``); the photo divided by that prediction is the
ink's transmittance. A pixel holds ink where some channel is darker than ``WEAK`` times the skin, and only in
connected ink that somewhere reaches ``STRONG`` (a shading error of the prediction is broad and shallow, ink
is not) and that either changes the skin's hue or is seen by the detector (a limb's shadow keeps the hue).
The layer then goes onto clean people photos (``skindeep.synth.realink``), where everything around it is
known bare skin or clothing.

    python -m skindeep.model.realink --out cache/realink [--model M.onnx]

Only the train split of ``real-train/`` is used (``split_real_train``); its hold-out stays unseen.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from skindeep.errors import InputError
from skindeep.model.pseudo import box_contexts, predicted_skin
from skindeep.remove.fill import region_means, seeded_regions
from skindeep.synth.photos import json_boxes, read_rgb, split_real_train
from skindeep.synth.realink import write_layer

WEAK = 0.88  # a channel this much darker than the predicted skin holds some ink (skin grain stays above)
STRONG = 0.55  # connected ink must reach this somewhere: shading errors of the prediction do not
FULL = 0.45  # the darkest channel's drop below WEAK at which a pixel is all ink
MIN_SIDE = 40  # boxes smaller than this (px) give layers too small to place
MIN_SHARE = 0.02  # layers with less ink than this share of their box are dropped
MAX_SHARE = 0.85  # nor layers that fill their (loose) box: the skin under it was mispredicted
HUE = 1.2  # a darkening whose channels differ by less than this ratio keeps the skin's hue (a shadow)
SEEN = 0.3  # ... and is kept only where the detector's mean ink probability reaches this


def ink_layer(crop: np.ndarray, skin: np.ndarray, inside: np.ndarray, prob: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The ink of ``crop`` (h, w, 3) uint8 over its predicted bare ``skin`` (h, w, 3) float 0..255, kept to
    ``inside`` (h, w) bool: amount (h, w) float32 0..1 and reflectance (h, w, 3) float32 0..1, such that
    ``1 - amount * (1 - reflectance)`` is the transmittance crop / skin wherever the amount is whole.

    prob: (h, w) float32 0..1, the detector's ink probability. Given, a darkening that keeps the skin's hue
    (a shadow at a limb's edge looks like that, and so does grey wash) is kept only where the detector also
    sees ink; ink that changes the hue (colour, and black, which is bluer than skin) is kept either way.
    """
    t = np.clip(crop.astype(np.float32) / np.maximum(skin, 1.0), 0.0, 1.0)
    darkest = t.min(axis=2)
    amount = np.clip((WEAK - darkest) / FULL, 0.0, 1.0) * inside
    regions, keep = seeded_regions((amount > 0).astype(np.uint8), darkest < STRONG)
    if prob is not None:
        keep &= _changes_hue(t, regions, keep.size) | (region_means(prob, regions, keep.size) >= SEEN)
    amount = np.where(keep[regions], amount, 0.0).astype(np.float32)
    reflect = 1.0 - (1.0 - t) / np.maximum(amount, 1e-3)[..., None]
    reflect = np.where((amount > 0)[..., None], np.clip(reflect, 0.0, 1.0), 1.0).astype(np.float32)
    return amount, reflect


def _changes_hue(t: np.ndarray, regions: np.ndarray, count: int) -> np.ndarray:
    """(count,) bool: the component's mean log ratio of its transmittance's largest to smallest channel
    reaches ``HUE``."""
    spread = np.log(t.max(axis=2) + 0.02) - np.log(t.min(axis=2) + 0.02)
    return region_means(spread, regions, count) >= np.log(HUE)


def photo_layers(rgb: np.ndarray, skin: np.ndarray, boxes: list[list[int]], prob: np.ndarray | None = None):
    """Yield (box, amount, reflectance) cut to each usable box of a photo. rgb (H, W, 3) uint8, skin (H, W)
    float32 0..1 the skin head's probability (tattooed skin is skin), prob (H, W) the ink head's (optional,
    ``ink_layer``)."""
    for crop, known, inside in box_contexts(skin, boxes):
        rows, cols = np.nonzero(inside.any(1))[0], np.nonzero(inside.any(0))[0]
        if len(rows) < MIN_SIDE or len(cols) < MIN_SIDE:
            continue
        amount, reflect = ink_layer(rgb[crop], predicted_skin(rgb[crop], known, inside), inside,
                                    None if prob is None else prob[crop])
        cut = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        amount, reflect = amount[cut], reflect[cut]
        if not (MIN_SHARE <= amount.mean() and (amount > 0.1).mean() <= MAX_SHARE):
            continue
        y0, x0 = crop[0].start + rows[0], crop[1].start + cols[0]
        yield [int(x0), int(y0), int(x0 + len(cols)), int(y0 + len(rows))], amount, reflect


def build_bank(real_dir: Path, out: Path, model: str | Path | None, log=print) -> dict:
    """Write ``out/PHOTO_k.png`` for the boxes of real-train's train split; returns the index also written to
    ``out/index.json`` (each layer's photo, box and ink share)."""
    from skindeep.remove import Remover

    photos = [p for p in split_real_train(real_dir)[0] if json_boxes(p)]
    if not photos:
        raise InputError(f"{real_dir}: no boxed tattoo photos (NAME.jpg with boxes in NAME.json) in its train split")
    remover = Remover(model)
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict] = {}
    start = time.time()
    for i, photo in enumerate(photos, 1):
        rgb = read_rgb(photo)
        prob, skin = remover.detect_with_skin(rgb)
        if skin is None:
            raise ValueError(f"{model or 'the shipped model'}: has no skin head, which the layers need")
        for k, (box, amount, reflect) in enumerate(photo_layers(rgb, skin[..., 0], json_boxes(photo), prob)):
            name = f"{photo.stem}_{k}.png"
            write_layer(out / name, amount, reflect)
            index[name] = dict(photo=photo.name, box=box, ink=round(float(amount.mean()), 4))
        if i % 25 == 0 or i == len(photos):
            log(f"{i}/{len(photos)} photos, {len(index)} layers ({(time.time() - start) / i:.1f} s each)")
    (out / "index.json").write_text(json.dumps(dict(model=str(model or "shipped"), layers=index), indent=1))
    return index


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--real", default="../shared/data/real-train")
    ap.add_argument("--model", default=None, help="ONNX whose skin head finds the skin (default: the shipped one)")
    a = ap.parse_args(argv)
    try:
        index = build_bank(Path(a.real), Path(a.out), a.model)
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"wrote {len(index)} layers to {a.out}")


if __name__ == "__main__":
    main()
