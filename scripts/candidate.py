"""Build a candidate model: the shipped ONNX with another skin network (or head) grafted in, or another
trained removal network, exported with the shipped model's threshold and recommended settings, so that
only the new part differs.

    python scripts/candidate.py runs/skinnet1/skinnet.pt --out runs/cand-sn1/skindeep.onnx [--base M.onnx]
    python scripts/candidate.py --network runs/ft-pair/last.pt --out runs/cand-pair/skindeep.onnx
    python scripts/candidate.py --network runs/ft-W/last.pt --blend 0.5 --out runs/cand-W50/skindeep.onnx

``--blend ALPHA`` exports ``(1 - ALPHA) * base + ALPHA * network`` in weight space (``skindeep.model.blend``,
WiSE-FT): for a fine-tune of the base, the points between the two.

No torch state of the shipped model is kept in the repository: its network is rebuilt from the ONNX
(``skindeep.model.from_onnx``, exact to 1e-4) into ``OUT_DIR/base.pt``, then
``skindeep.model.skin.graft`` and ``skindeep.model.export.export_checkpoint`` run as for a release.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "skindeep" / "weights" / "skindeep.onnx"


def base_checkpoint(onnx_path: Path, out: Path) -> Path:
    """``onnx_path`` rebuilt as a weights-only checkpoint at ``out``, with its metadata's training record."""
    from skindeep.model.checkpoint import save_checkpoint
    from skindeep.model.config import TrainConfig
    from skindeep.model.from_onnx import check_rebuilt, model_from_onnx

    model = model_from_onnx(onnx_path)
    check_rebuilt(model, onnx_path)
    cfg = TrainConfig()
    cfg.model = dataclasses.replace(cfg.model, skin_head=model.skin_head is not None,
                                    skin_net=model.skin_net is not None)
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    save_checkpoint(out, {"model": model.state_dict(), "config": dataclasses.asdict(cfg),
                          "step": meta.get("step"), "stage": 0, "seconds": meta.get("train_seconds", 0),
                          "metrics": meta.get("val_metrics", {}), "best": meta.get("best_val_psnr_in")})
    return out


def blended_checkpoint(base_onnx: Path, network: Path, alpha: float, out: Path) -> Path:
    """``network`` blended with the network rebuilt from ``base_onnx`` (weight ``alpha`` on ``network``),
    saved at ``out`` with ``network``'s config."""
    from skindeep.model.blend import blend_networks
    from skindeep.model.checkpoint import model_from_checkpoint, save_checkpoint
    from skindeep.model.from_onnx import model_from_onnx

    fine, cfg, state = model_from_checkpoint(network)
    start = model_from_onnx(base_onnx, cfg.model)
    blended = blend_networks(start, fine, alpha)
    save_checkpoint(out, {**{k: state[k] for k in ("config", "step", "stage", "seconds") if k in state},
                          "model": blended.state_dict(), "metrics": {}, "best": None,
                          "blend": {"start": str(base_onnx), "network": str(network), "alpha": alpha}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("skin", nargs="?", help="skin network (train-net's skinnet.pt) or skin head checkpoint")
    ap.add_argument("--network", help="a trained removal network checkpoint to export instead of the shipped one")
    ap.add_argument("--out", required=True, help="ONNX file to write; base.pt and with-skin.pt go next to it")
    ap.add_argument("--base", default=str(SHIPPED), help="removal network to graft into (ONNX)")
    ap.add_argument("--blend", type=float, help="export base and --network blended, this weight on --network")
    args = ap.parse_args()

    from skindeep.model.export import export_checkpoint
    from skindeep.model.skin import graft
    from skindeep.remove.session import MODEL_SETTINGS

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = Path(args.base)
    meta = json.loads(base.with_suffix(".json").read_text())
    if not (args.skin or args.network):
        ap.error("give a skin network, --network, or both")
    if args.blend is not None and not args.network:
        ap.error("--blend needs --network")
    network = Path(args.network) if args.network else base_checkpoint(base, out.with_name("base.pt"))
    if args.blend is not None:
        network = blended_checkpoint(base, network, args.blend, out.with_name("blended.pt"))
    grafted = graft(network, args.skin, out.with_name("with-skin.pt")) if args.skin else network
    settings = {s.name: meta[s.key] for s in MODEL_SETTINGS if s.key in meta}
    new = export_checkpoint(grafted, out, threshold=meta["threshold"], timing=False, **settings)
    print(json.dumps({"onnx": str(out), "bytes": new["bytes"], "parity": new["parity"]}, indent=2))


if __name__ == "__main__":
    main()
