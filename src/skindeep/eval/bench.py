"""The synthetic benchmark: a fixed, versioned, seeded set of held-out pairs, and its scoring.

The set is made by ``skindeep.synth`` from the project's *validation* lists only (``split_photos`` and
``split_designs`` with their default seed 0), so no photo and no design file of it was seen in training.
Case ``i`` of a run with ``sizes`` S and the ink types T has size ``S[i % len(S)]``, ink type
``T[(i // len(S)) % len(T)]`` and synth seed ``BENCH_SEED + i``: the same ``-n`` and ``--sizes`` give
the same pairs as long as the synth engine does not change (``set_fingerprint`` in ``metrics.json``
tells when it did). Bump :data:`BENCH_VERSION` when this recipe changes.

An ink type is asked of the synth by restricting ``SynthConfig.source_weights`` to that type's design
sources (:data:`INK_TYPES`); the type recorded per case is the one its ``params`` say was drawn.

Scores per case (see :mod:`skindeep.eval.metrics`): PSNR / SSIM / feature distance inside the true ink
(``ink > INK_MIN``) against the clean photo, mean change and share of pixels changed where ``ink == 0``,
mask IoU / F1 (probability >= the remover's threshold vs true ink) and AUROC, seconds per megapixel.
Methods: ``skindeep`` (the model), ``input`` (do nothing), Telea / Navier–Stokes (and FSR_FAST with
opencv-contrib) with the true mask (``ink > 0``) and with the model's mask (``ink_mask > 0``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from skindeep.errors import InputError
from skindeep.eval import baselines, images, metrics

BENCH_VERSION = 1
BENCH_SEED = 5_000_000  # far from the seeds training draws from 0 upwards
INK_MIN = 20  # alpha (0..255) above which a pixel counts as ink for the metrics (as ink_stats.py)

FAR = 8  # px: changes farther than this from any ink are false positives (see score_output)
SWEEP = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # thresholds at which mask F1 is also measured

# ink type -> synth design sources (weights) that make it
INK_TYPES: dict[str, dict[str, float]] = {
    "fine_line": {"lineart": 2.0, "kanji": 1.0, "omniglot": 1.0},
    "blackwork": {"blackwork": 2.0, "tribal": 1.0, "icons": 1.0},
    "lettering": {"lettering": 1.0},
    "colour": {"color": 1.0, "colorfill": 1.0},
    "realism": {"realism": 2.0, "hatching": 1.0, "dotwork": 1.0, "mandala": 1.0},
}


@dataclass
class BenchCase:
    """One planned case: its index, synth seed, side in pixels and the ink type asked for."""

    index: int
    seed: int
    size: int
    ink_type: str

    @property
    def name(self) -> str:
        return f"b{BENCH_VERSION}_{self.index:03d}_{self.ink_type}_{self.size}"


def plan_cases(n: int, sizes: tuple[int, ...] = (256, 512, 1024), types: tuple[str, ...] | None = None) -> list[BenchCase]:
    """The first ``n`` cases of the benchmark for these sizes (see the module docstring)."""
    types = tuple(types or INK_TYPES)
    if not sizes:
        raise ValueError("sizes must not be empty")
    unknown = [t for t in types if t not in INK_TYPES]
    if unknown:
        raise ValueError(f"unknown ink type(s) {unknown}; known: {list(INK_TYPES)}")
    return [
        BenchCase(i, BENCH_SEED + i, sizes[i % len(sizes)], types[(i // len(sizes)) % len(types)])
        for i in range(n)
    ]


def type_of_sources(sources: list[str]) -> str | None:
    """The ink type a list of design sources belongs to (the first source's), None when unknown."""
    for src in sources:
        for name, weights in INK_TYPES.items():
            if src in weights:
                return name
    return None


def sources_in(params) -> list[str]:
    """Every ``source`` value found anywhere in a sample's params (nested dicts and lists)."""
    found: list[str] = []
    if isinstance(params, dict):
        if isinstance(params.get("source"), str):
            found.append(params["source"])
        for v in params.values():
            if isinstance(v, dict | list):
                found += sources_in(v)
    elif isinstance(params, list):
        for v in params:
            found += sources_in(v)
    return found


class BenchSet:
    """Makes the benchmark's samples from the validation photos and designs (one Synthesizer per config)."""

    def __init__(self, people_dir: Path, designs_dir: Path):
        from skindeep import synth

        self._synth = synth
        self.people_dir, self.designs_dir = Path(people_dir), Path(designs_dir)
        self.photos = synth.split_photos(self.people_dir)[1]
        self.designs = synth.split_designs(self.designs_dir)[1]
        self._cache: dict[tuple[int, str], object] = {}

    def config_for(self, case: BenchCase):
        """The SynthConfig for a case: its size, no clean samples, the sources of its ink type."""
        synth = self._synth
        base = synth.SynthConfig()
        fields = {f.name for f in dataclasses.fields(base)}
        changes: dict = {"size": case.size}
        if "p_clean" in fields:
            changes["p_clean"] = 0.0
        if "source_weights" in fields:
            known = set(base.source_weights)
            weights = {k: v for k, v in INK_TYPES[case.ink_type].items() if k in known}
            if weights:  # else the engine lacks these sources: keep its mix and classify from params
                changes["source_weights"] = weights
        return dataclasses.replace(base, **changes)

    def cases(self, n: int, sizes: tuple[int, ...]) -> list[BenchCase]:
        """The planned cases (see :func:`plan_cases`)."""
        return plan_cases(n, sizes)

    def sample(self, case: BenchCase):
        """The synth Sample of ``case`` (deterministic)."""
        key = (case.size, case.ink_type)
        if key not in self._cache:
            self._cache[key] = self._synth.Synthesizer(
                self.people_dir, self.designs_dir, self.config_for(case), photos=self.photos, designs=self.designs
            )
        return self._cache[key].sample(case.seed)


CASE_NAME = re.compile(r"^b(\d+)_(\d{3,})_([a-z_]+)_(\d+)$")


class FrozenSet:
    """A benchmark set saved earlier with ``--save-set`` (synth sample files named after the cases).

    Scoring a frozen set gives the same pairs whatever the synth engine has become since, so two
    models can be compared on exactly the same pixels.
    """

    def __init__(self, folder: Path):
        from skindeep import synth

        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: benchmark set folder not found")
        self._load = synth.load_sample
        self._cases = []
        for name in synth.read_sample_dir(self.folder):
            m = CASE_NAME.match(name)
            if m:
                self._cases.append(BenchCase(int(m[2]), BENCH_SEED + int(m[2]), int(m[4]), m[3]))
        if not self._cases:
            raise InputError(f"{self.folder}: no saved benchmark samples (b<version>_<index>_<type>_<size>.*)")
        self._cases.sort(key=lambda c: c.index)

    def cases(self, n: int, sizes: tuple[int, ...]) -> list[BenchCase]:
        """The first ``n`` saved cases (``sizes`` is ignored: the set fixes them)."""
        return self._cases[:n]

    def sample(self, case: BenchCase):
        return self._load(self.folder, case.name)


def score_output(out: np.ndarray, clean: np.ndarray, ink: np.ndarray, feat: Callable | None) -> dict[str, float]:
    """Quality of one restored image ``out`` against ``clean`` given the true ``ink`` alpha (H,W) uint8.

    ``far_changed`` counts only pixels more than :data:`FAR` px from any ink: there a change is a false
    detection, not the feathered edge of a true one.
    """
    inside = ink > INK_MIN
    outside = ink == 0
    near = cv2.dilate((ink > 0).astype(np.uint8), np.ones((2 * FAR + 1, 2 * FAR + 1), np.uint8)) > 0
    return {
        "psnr_in": metrics.psnr(out, clean, inside),
        "ssim_in": metrics.ssim(out, clean, inside),
        "feat_in": feat(out, clean, inside) if feat is not None else float("nan"),
        "outside_change": metrics.mean_change(out, clean, outside),
        "outside_changed": metrics.changed_fraction(out, clean, outside),
        "far_changed": metrics.changed_fraction(out, clean, ~near),
    }


def score_case(case: BenchCase, sample, remover, feat: Callable | None = None) -> tuple[dict, dict]:
    """Run the remover and the baselines on one sample; returns (record, outputs by method name)."""
    result = remover.remove(sample.tattooed)
    ink = np.asarray(sample.ink)
    true_mask = ink > 0
    pred_mask = np.asarray(result.ink_mask) > 0
    threshold = float(getattr(remover, "threshold", 0.5) or 0.5)
    outputs = {"skindeep": np.asarray(result.image)[..., :3]}
    for name, fn in baselines.available().items():
        if name == "identity":
            outputs["input"] = fn(sample.tattooed, true_mask)
            continue
        outputs[f"{name}_true"] = fn(sample.tattooed, true_mask)
        outputs[f"{name}_pred"] = fn(sample.tattooed, pred_mask) if pred_mask.any() else sample.tattooed.copy()
    truth = ink > INK_MIN
    prob = np.asarray(result.ink_prob, np.float32)
    sources = sources_in(sample.params)
    h, w = ink.shape
    record = {
        "name": case.name,
        "index": case.index,
        "seed": case.seed,
        "size": case.size,
        "ink_type": type_of_sources(sources) or case.ink_type,
        "asked_type": case.ink_type,
        "sources": sorted(set(sources)),
        "photo": str(sample.params.get("photo", "")) if isinstance(sample.params, dict) else "",
        "ink_coverage": float(truth.mean()),
        "seconds": float(result.seconds),
        "sec_per_mp": float(result.seconds) / (h * w / 1e6),
        "mask": {
            "iou": metrics.iou(prob >= threshold, truth),
            "f1": metrics.f1(prob >= threshold, truth),
            "auroc": metrics.auroc(prob, truth),
            "f1_at": [metrics.f1(prob >= t, truth) for t in SWEEP],
        },
        "methods": {name: score_output(out, sample.clean, ink, feat) for name, out in outputs.items()},
    }
    outputs["_pred_mask"] = np.asarray(result.ink_mask)
    return record, outputs


def _group(cases: list[dict], key: str) -> dict[str, list[dict]]:
    """Cases by ``key``; sizes in numeric order, ink types in :data:`INK_TYPES` order."""
    groups: dict[str, list[dict]] = {}
    for c in cases:
        groups.setdefault(str(c[key]), []).append(c)
    order = list(INK_TYPES)
    return dict(sorted(groups.items(), key=lambda kv: (
        int(kv[0]) if kv[0].isdigit() else order.index(kv[0]) if kv[0] in order else len(order), kv[0])))


def summarize(cases: list[dict]) -> dict:
    """Means per method (PSNR clipped at PSNR_CAP), mask scores and speed: overall, by ink type, by size."""

    def block(group: list[dict]) -> dict:
        methods = group[0]["methods"].keys() if group else []
        out = {
            "n": len(group),
            "methods": {
                m: {
                    k: metrics.finite_mean((c["methods"][m][k] for c in group),
                                           cap=metrics.PSNR_CAP if k == "psnr_in" else None)
                    for k in group[0]["methods"][m]
                }
                for m in methods
            },
            "mask": {k: metrics.finite_mean(c["mask"][k] for c in group) for k in ("iou", "f1", "auroc")},
            "f1_at": [metrics.finite_mean(c["mask"]["f1_at"][i] for c in group) for i in range(len(SWEEP))],
            "sec_per_mp": float(np.median([c["sec_per_mp"] for c in group])) if group else float("nan"),
        }
        return out

    return {
        "overall": block(cases),
        "by_type": {k: block(v) for k, v in _group(cases, "ink_type").items()},
        "by_size": {k: block(v) for k, v in _group(cases, "size").items()},
    }


def grid_cases(cases: list[BenchCase], rows: int) -> set[int]:
    """Indices of ``rows`` cases for the grid: every ink type, sizes rotating from type to type."""
    first: dict[tuple[str, int], int] = {}
    for c in cases:
        first.setdefault((c.ink_type, c.size), c.index)
    types = [t for t in INK_TYPES if any(k[0] == t for k in first)]
    sizes = sorted({k[1] for k in first})
    if not types or rows <= 0:
        return set()
    per_type = -(-rows // len(types))
    picked: list[int] = []
    for k, t in enumerate(types):
        rotated = sizes[(k * per_type) % len(sizes):] + sizes[: (k * per_type) % len(sizes)]
        picked += [first[(t, s)] for s in rotated if (t, s) in first][:per_type]
    return set(picked[:rows])


def run_synthetic(
    bench: BenchSet, remover, n: int, sizes: tuple[int, ...], grid_path: Path | None = None,
    grid_rows: int = 8, feat: Callable | None = None, progress: Callable[[str], None] | None = None,
    save_dir: Path | None = None,
) -> dict:
    """Make, remove and score ``n`` cases; write a before/after grid of ``grid_rows`` of them.

    ``bench`` is a :class:`BenchSet` (synthesise) or a :class:`FrozenSet` (read a saved set); with
    ``save_dir`` each sample is also written there (``synth.write_sample``, named after its case), so
    ``FrozenSet(save_dir)`` replays exactly these pairs later.
    Returns ``{"cases": [...], "summary": {...}, "set_fingerprint": sha256, "grid": file name or ""}``.
    """
    cases = bench.cases(n, sizes)
    shown = grid_cases(cases, grid_rows)
    digest = hashlib.sha256()
    records, grid = [], []
    for case in cases:
        sample = bench.sample(case)
        if not records:  # warm up (session, face model) so the first case's seconds are not inflated
            remover.remove(sample.tattooed)
        digest.update(np.ascontiguousarray(sample.tattooed).tobytes())
        digest.update(np.ascontiguousarray(sample.clean).tobytes())
        if save_dir is not None:
            from skindeep.synth import write_sample

            sample.name = case.name
            write_sample(sample, save_dir)
        record, outputs = score_case(case, sample, remover, feat)
        records.append(record)
        if grid_path is not None and case.index in shown:
            m = record["methods"]
            grid.append(images.row(
                [sample.tattooed, images.overlay(sample.tattooed, outputs["_pred_mask"]), outputs["skindeep"],
                 outputs["telea_true"], sample.clean],
                200,
                ["input", "skindeep mask",
                 f"skindeep {m['skindeep']['psnr_in']:.1f} dB", f"telea+true {m['telea_true']['psnr_in']:.1f} dB",
                 "clean (truth)"],
                caption=f"{case.name}: {record['ink_type']}, {case.size} px, ink {record['ink_coverage']:.1%} "
                        f"of the image, mask F1 {record['mask']['f1']:.2f}",
            ))
        if progress:
            progress(case.name)
    written = images.save_jpeg(grid_path, images.stack(grid)).name if grid_path is not None and grid else ""
    return {"cases": records, "summary": summarize(records), "set_fingerprint": digest.hexdigest(), "grid": written}
