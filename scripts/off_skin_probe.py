"""What a model does off skin on the two known cases (experiments 47-48): the stone floor of real-dev
tssd_30021237795 (x >= 410, y >= 95: the mosaic band beside the arm) and the grey-green fabric of people
abdomen_0422. Prints the share of the floor the remover changes and the skin network's mean skin probability
there, and on the fabric photo the share changed and the skin probability off and on the hand-labelled skin.

    python scripts/off_skin_probe.py MODEL.onnx [MODEL2.onnx ...]

Both photos were looked at to design experiment 48, so these are probes, not an unseen figure."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
BEAR = DATA / "real-dev" / "tssd_30021237795.jpg"
FABRIC = DATA / "people" / "abdomen_0422.jpg"


def read(path: Path) -> np.ndarray:
    if not path.is_file():
        sys.exit(f"{path}: not found (this probe needs ../shared/data)")
    return np.asarray(Image.open(path).convert("RGB"))


def changed(remover, rgb: np.ndarray, where: np.ndarray | None = None) -> float:
    """Share of the ``where`` pixels the remover moves by more than 8 levels in any channel."""
    from skindeep.eval.metrics import changed_fraction

    return changed_fraction(np.asarray(remover.remove(rgb).image)[..., :3], rgb, where, tol=8)


def main(models: list[str]) -> None:
    from skindeep.remove.pipeline import Remover

    bear, fabric = read(BEAR), read(FABRIC)
    fabric_skin = np.asarray(Image.open(FABRIC.with_name(FABRIC.stem + ".skin.png")).convert("L")) > 127
    floor = np.zeros(bear.shape[:2], bool)
    floor[95:, 410:] = True
    for model in models:
        remover = Remover(model_path=model)
        skin, skin2 = remover.skin(bear)[..., 0], remover.skin(fabric)[..., 0]
        print(f"{model}: floor changed {changed(remover, bear, floor):.1%}, floor skin prob "
              f"{skin[floor].mean():.2f}; abdomen_0422 changed {changed(remover, fabric):.1%}, not-skin called "
              f"skin {skin2[~fabric_skin].mean():.2f}, skin called skin {skin2[fabric_skin].mean():.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["src/skindeep/weights/skindeep.onnx"])
