"""Make the bundled example: a synthetic tattoo on a CC BY 4.0 face, then its removal, side by side.

    python examples/make_example.py            # needs ../shared/data and the shipped weights

Writes examples/tattooed.jpg (the input), then runs scripts/make_readme_pictures.py for
examples/tattooed.skindeep.jpg (``skindeep remove``'s result) and examples/before_after.jpg (the picture
in the README); after a new model only that script needs to run. The photo is from the Face Research Lab
London Set (DeBruine & Jones 2017, CC BY 4.0, doi:10.6084/m9.figshare.5047666.v5); the tattoo is a
design from the validation half of the design split (never trained on), rendered by ``skindeep.synth``.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 255 on skin-coloured pixels away from eyes, brows, lips and nostrils (frll photos
    have no skin masks)."""
    import cv2

    from skindeep.remove.face import FaceProtector

    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = cv2.morphologyEx(cv2.inRange(ycrcb, (40, 135, 85), (235, 180, 135)), cv2.MORPH_OPEN,
                            np.ones((5, 5), np.uint8))
    for x0, y0, x1, y1, features in FaceProtector(margin=0.5).regions(rgb):
        skin[y0:y1, x0:x1][features] = 0
    return skin


def make_input(photo: str = "frll_0012.jpg", size: int = 640) -> Path:
    import cv2

    from skindeep.synth import SynthConfig, Synthesizer, split_designs

    class NeckSynth(Synthesizer):
        """Always the same photo, with ink allowed on skin away from the facial features."""

        def _crop(self, rng):
            img = Image.open(SHARED / "people" / photo).convert("RGB").resize((size, size), Image.LANCZOS)
            rgb = np.asarray(img)
            return rgb, skin_mask(rgb), {"photo": photo, "upscale": 1.0}

    designs = SHARED / "designs"
    cfg = SynthConfig(size=size, p_clean=0.0, p_hard_negative=0.0, p_jpeg=0.0, zoom=(1.0, 1.0), max_tattoos=1,
                      noise_sigma=(0.0, 0.5), source_weights={"icons": 1, "lettering": 1, "tribal": 1, "mandala": 1})
    synth = NeckSynth(SHARED / "people", designs, cfg, photos=[SHARED / "people" / photo],
                      designs=split_designs(designs)[1])
    # The first seed with a bold, clearly visible tattoo covering 0.5-5 % of the photo.
    skin = skin_mask(np.asarray(Image.open(SHARED / "people" / photo).convert("RGB").resize((size, size),
                                                                                             Image.LANCZOS)))
    for seed in range(300):
        sample = synth.sample(seed)
        ink = sample.ink > 20
        # The whole design on skin (not clipped by the mask's edge, which would look cut out).
        inside = cv2.distanceTransform((skin > 0).astype(np.uint8), cv2.DIST_L2, 3)
        clear_of_cut = ink.any() and inside[ink].min() > 4
        if clear_of_cut and 0.005 < ink.mean() < 0.05 and sample.ink[ink].mean() > 150:
            break
    else:
        raise RuntimeError("no suitable sample in 300 seeds")
    print(f"seed {seed}: {sample.params.get('tattoos')}")
    out = HERE / "tattooed.jpg"
    Image.fromarray(sample.tattooed).save(out, quality=92)
    return out


def main() -> None:
    src = make_input()
    pictures = runpy.run_path(str(HERE.parent / "scripts" / "make_readme_pictures.py"))
    dst, _ = pictures["make"]()
    diff = np.abs(np.asarray(Image.open(src), np.int16) - np.asarray(Image.open(dst), np.int16)).max(axis=2)
    print(f"{(diff > 8).mean():.1%} of pixels changed by more than 8 grey levels")


if __name__ == "__main__":
    main()
