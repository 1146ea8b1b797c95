"""Run ../shared/tools/real_score.py with ``skindeep.remove`` bound to a given model and Remover options.

    python scripts/real_score_with.py [--model M.onnx] [--opt detect_size=192 --opt threshold=0.5 ...] \
        -- ../shared/data/real-dev -n 120 --sheet /tmp/real-dev-sheet.png

Used for the experiments in docs/experiments.md (real_score.py itself always uses the installed defaults).
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

REAL_SCORE = Path(__file__).resolve().parents[1] / ".." / "shared" / "tools" / "real_score.py"


def parse_options(opts: list[str]) -> dict:
    """``["threshold=0.5", "detect_size=192", "fill=none", "fill.texture_sigma=4.0"]`` -> Remover keywords
    (a dot makes a float, ``none`` is None: a step turned off; ``fill.NAME`` sets one FillSettings field)."""
    def value(v: str) -> float | int | None:
        return None if v.lower() == "none" else float(v) if "." in v else int(v)

    from skindeep.remove.fill import FillSettings

    pairs = [o.split("=", 1) for o in opts]
    options = {k: value(v) for k, v in pairs if not k.startswith("fill.")}
    fill = {k.removeprefix("fill."): value(v) for k, v in pairs if k.startswith("fill.")}
    if fill:
        options["fill"] = FillSettings(**fill)
    return options


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--opt", action="append", default=[], help="Remover keyword, NAME=VALUE (number)")
    a = ap.parse_args(argv[:split])
    options = parse_options(a.opt)

    import skindeep
    from skindeep.remove.pipeline import Remover

    remover = Remover(model_path=a.model, **options)
    skindeep.remove = remover.remove
    sys.argv = [str(REAL_SCORE), *argv[split + 1:]]
    runpy.run_path(str(REAL_SCORE), run_name="__main__")


if __name__ == "__main__":
    main()
