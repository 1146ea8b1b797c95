"""``report.md`` (tables, plots) from a run's ``metrics.json``, and ``--compare`` of two runs.

A run folder holds ``metrics.json`` (written by :func:`skindeep.eval.run.evaluate`), the pictures the
run made (before/after grid, contact sheets) and, after :func:`write_report`, ``report.md`` with the
plots. A hand-written ``notes.md`` in the folder is appended to the report verbatim (reference figures
from other tools, what a person sees on the sheets), so regenerating the report keeps it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from skindeep.errors import InputError
from skindeep.eval import images
from skindeep.eval.real import meets_targets

METHOD_LABELS = {
    "skindeep": "skindeep (model)",
    "input": "input (do nothing)",
    "telea_true": "Telea, true mask",
    "ns_true": "Navier–Stokes, true mask",
    "fsr_fast_true": "FSR_FAST, true mask",
    "telea_pred": "Telea, model's mask",
    "ns_pred": "Navier–Stokes, model's mask",
    "fsr_fast_pred": "FSR_FAST, model's mask",
    "skindeep_region": "skindeep, region given as mask",
    "telea": "Telea (region given)",
    "identity": "identity",
    "ns": "Navier–Stokes (region given)",
    "patchmatch": "PatchMatch (region given)",
    "skindeep_net_only": "skindeep, network only (before issue 16)",
}
PLOT_METHODS = ("skindeep", "telea_true", "ns_true", "telea_pred", "input")


def _to_json(x):
    """nan → None, ±inf → "inf"/"-inf", numpy scalars → Python: metrics.json stays strict JSON. Other floats keep
    6 significant digits: the figures are reported to 3, and 17 made the committed docs/eval/metrics.json a fifth
    larger (the tracked tree has to stay under 25 MB)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return float(f"{x:.6g}") if math.isfinite(x) else None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _to_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_to_json(v) for v in x]
    return x


def _from_json(x):
    """The inverse of :func:`_to_json` (None → nan)."""
    if x is None:
        return float("nan")
    if x in ("inf", "-inf"):
        return float(x)
    if isinstance(x, dict):
        return {k: _from_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_from_json(v) for v in x]
    return x


def save_metrics(run: Path, metrics: dict) -> Path:
    """Write ``metrics.json`` into the run folder (strict JSON; see :func:`_to_json`)."""
    path = Path(run) / "metrics.json"
    path.write_text(json.dumps(_to_json(metrics), indent=1))
    return path


def load_metrics(run: Path) -> dict:
    """The ``metrics.json`` of a run folder (or the file itself); InputError naming the path otherwise."""
    run = Path(run)
    path = run / "metrics.json" if run.is_dir() else run
    try:
        return _from_json(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no metrics.json here (is this a `skindeep eval` output folder?)") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the metrics ({exc})") from exc


def fmt(v, digits: int = 2, pct: bool = False) -> str:
    """A table cell: ``-`` for missing/nan, ``inf`` kept, percentages with ``pct``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if pct:
        return f"{100 * v:.{digits}f}%"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _plot(path: Path, groups: dict, methods: tuple[str, ...], title: str) -> str | None:
    """Left: PSNR in ink per method, grouped by ``groups`` (ink types or sizes); right: the mask F1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(groups)
    methods = tuple(m for m in methods if names and m in groups[names[0]]["methods"])
    if not names or not methods:
        return None
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.6), dpi=90, gridspec_kw={"width_ratios": [3, 1.2]})
    width = 0.8 / len(methods)
    x = range(len(names))
    ticks = [f"{g}\n(n={groups[g]['n']})" for g in names]
    for j, m in enumerate(methods):
        vals = [groups[g]["methods"][m]["psnr_in"] for g in names]
        ax.bar([i + (j - (len(methods) - 1) / 2) * width for i in x], vals, width, label=METHOD_LABELS.get(m, m))
    ax.set_xticks(list(x), ticks, fontsize=8)
    ax.set_ylabel("PSNR inside the ink (dB)")
    ax.set_title(f"Restoration by {title}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, frameon=False)
    ax2.bar(list(x), [groups[g]["mask"]["f1"] for g in names], 0.6, color="tab:blue")
    ax2.axhline(0.85, color="k", lw=0.8, ls="--", label="target 0.85")
    ax2.set_xticks(list(x), names, fontsize=7, rotation=35, ha="right")
    ax2.set_ylim(0, 1)
    ax2.set_title("Mask F1 (model)", fontsize=10)
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    images.save_png(path, _read_rgb(path))  # re-save under the size cap
    return path.name


def _read_rgb(path: Path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _synthetic_section(run: Path, syn: dict, threshold: float) -> list[str]:
    s = syn["summary"]
    overall = s["overall"]
    out = ["## Synthetic held-out benchmark", ""]
    out.append(
        f"{overall['n']} pairs made by `skindeep.synth` from the validation photos and designs only "
        f"(bench v{syn['bench_version']}, sizes {', '.join(map(str, syn['sizes']))}, "
        f"{'read from ' + repr(syn['source']) + ', ' if syn.get('source', 'synthesised') != 'synthesised' else ''}"
        f"set fingerprint `{syn['set_fingerprint'][:12]}`). Inside = true ink alpha > {syn['ink_min']}; outside = ink 0. "
        "PSNR means clip at 60 dB. `feat` is a distance in frozen EfficientNet-Lite0 ImageNet features, "
        "LPIPS-style but **not calibrated LPIPS** (lower is better; comparable only with itself)."
    )
    out.append("")
    rows = [
        [METHOD_LABELS.get(m, m), fmt(v["psnr_in"]), fmt(v["ssim_in"], 3), fmt(v["feat_in"], 3),
         fmt(v["outside_change"]), fmt(v["outside_changed"], 2, pct=True), fmt(v.get("far_changed"), 2, pct=True)]
        for m, v in overall["methods"].items()
    ]
    out.append(table(["method", "PSNR in ink (dB)", "SSIM in ink", "feat in ink", "change outside (grey lv)",
                      "pixels changed outside", "changed > 8 px from ink"], rows))
    mk = overall["mask"]
    out += ["", f"Mask (model's probability ≥ its threshold vs true ink): IoU **{fmt(mk['iou'], 3)}**, "
                f"F1 **{fmt(mk['f1'], 3)}**, AUROC **{fmt(mk['auroc'], 3)}**. "
                f"Speed: median **{fmt(overall['sec_per_mp'])} s per megapixel** ({syn.get('threads', '?')} "
                "threads, on a machine shared with training).", ""]
    sweep = syn.get("sweep")
    if sweep and overall.get("f1_at"):
        best = max(range(len(sweep)), key=lambda i: -1 if math.isnan(overall["f1_at"][i]) else overall["f1_at"][i])
        out += ["Mask F1 (mean over cases) by threshold: "
                + ", ".join(f"{t:g}: {fmt(f, 3)}" for t, f in zip(sweep, overall["f1_at"], strict=True))
                + f" — best **{fmt(overall['f1_at'][best], 3)} at {sweep[best]:g}** "
                f"(the model's threshold is {fmt(threshold, 2)}).", ""]
    out += _targets(overall)
    for key, title in (("by_type", "ink type"), ("by_size", "size (px)")):
        groups = s[key]
        rows = []
        for g, b in groups.items():
            m = b["methods"]
            best = max((m[k]["psnr_in"] for k in m if k.endswith("_true")), default=float("nan"))
            rows.append([g, str(b["n"]), fmt(m["skindeep"]["psnr_in"]), fmt(best), fmt(m["input"]["psnr_in"]),
                         fmt(m["skindeep"]["ssim_in"], 3), fmt(m["skindeep"]["feat_in"], 3),
                         fmt(b["mask"]["f1"], 3), fmt(b["mask"]["auroc"], 3), fmt(b["sec_per_mp"])])
        out += ["", f"### By {title}", "",
                table([title, "n", "skindeep PSNR", "best classical (true mask) PSNR", "input PSNR",
                       "skindeep SSIM", "skindeep feat", "mask F1", "mask AUROC", "s/MP"], rows)]
        plot = _plot(run / f"psnr_by_{key[3:]}.png", groups, PLOT_METHODS, title)
        if plot:
            out += ["", f"![PSNR by {title}]({plot})"]
    out += _hardest(syn["cases"])
    if syn.get("grid"):
        out += ["", "### Before / after", "",
                "Each row: input | model's mask | skindeep | Telea with the true mask | the clean truth.", "",
                f"![synthetic before/after]({syn['grid']})"]
    return out + [""]


def _hardest(cases: list[dict], k: int = 5) -> list[str]:
    """The ``k`` cases where the model gains least over doing nothing (PSNR in ink, model − input)."""

    def gain(c: dict) -> float:
        g = c["methods"]["skindeep"]["psnr_in"] - c["methods"]["input"]["psnr_in"]
        return g if math.isfinite(g) else math.inf

    worst = sorted(cases, key=gain)[:k]
    rows = [[c["name"], c["ink_type"], str(c["size"]), fmt(c["ink_coverage"], 1, pct=True),
             fmt(c["methods"]["input"]["psnr_in"]), fmt(c["methods"]["skindeep"]["psnr_in"]),
             fmt(c["mask"]["f1"], 3), c.get("photo", "")] for c in worst]
    return ["", f"### The {len(rows)} hardest cases (least PSNR gain over the input)", "",
            table(["case", "type", "size", "ink coverage", "input PSNR", "skindeep PSNR", "mask F1", "photo"], rows)]


def _targets(overall: dict) -> list[str]:
    m = overall["methods"]
    ours = m["skindeep"]["psnr_in"]
    best_name = max((k for k in m if k.endswith("_true")), key=lambda k: m[k]["psnr_in"], default=None)
    lines = ["Targets (DESIGN.md):", ""]
    if best_name:
        best = m[best_name]["psnr_in"]
        ok = ours >= best + 3
        lines.append(f"- PSNR in ink ≥ best classical with the true mask + 3 dB: {fmt(ours)} vs "
                     f"{fmt(best)} + 3 ({METHOD_LABELS.get(best_name, best_name)}) → **{'met' if ok else 'not met'}**")
    f1 = overall["mask"]["f1"]
    lines.append(f"- mask F1 ≥ 0.85: {fmt(f1, 3)} → **{'met' if f1 >= 0.85 else 'not met'}**")
    oc = m["skindeep"]["outside_change"]
    lines.append(f"- pixels outside the ink unchanged: mean change {fmt(oc, 3)} grey levels, "
                 f"{fmt(m['skindeep']['outside_changed'], 2, pct=True)} of them changed (the feathered edge "
                 f"included); {fmt(m['skindeep'].get('far_changed'), 2, pct=True)} of the pixels more than 8 px "
                 "from any ink changed (false detections)")
    return lines


def _real_section(real: dict) -> list[str]:
    out = ["## Real photos (real-dev)", "",
           f"{real['summary'][next(iter(real['summary']))]['n']} photos of `{real['folder']}`, evenly spaced over "
           "the sorted list (both sources). Figures as `real_score.py` defines them (re-implemented in "
           "`skindeep.eval.real`): change outside the padded boxes (mean, grey levels; target < 1), edge "
           "energy inside after/before (median; < 0.6), tattoo–skin luminance gap after/before (< 0.5), "
           "texture inside vs the skin ring (0.5–2.0). Box area changed = share of the box pixels changed "
           "by more than 8 grey levels. `skindeep` runs automatically (no mask given); `skindeep, region "
           "given` gets the region as its user mask (ink removed only there); Telea is given the region (mask "
           "or boxes): a reference smear, not a competitor.", ""]
    rows = []
    for m, v in real["summary"].items():
        rows.append([METHOD_LABELS.get(m, m), fmt(v["outside"]), fmt(v["edge"]), fmt(v["gap"]),
                     fmt(v["texture"]), fmt(v["box_changed"], 1, pct=True), "yes" if meets_targets(v) else "no"])
    out.append(table(["method", "change outside", "edge after/before", "gap after/before", "texture",
                      "box area changed", "all targets"], rows))
    first = next(iter(real["summary"]))
    by_source = real.get("by_source", {}).get(first, {})
    if len(by_source) > 1:
        out += ["", f"{METHOD_LABELS.get(first, first)} by source:", "",
                table(["source", "photos", "change outside", "edge", "gap", "texture", "box area changed"],
                      [[p, str(v["n"]), fmt(v["outside"]), fmt(v["edge"]), fmt(v["gap"]), fmt(v["texture"]),
                        fmt(v["box_changed"], 1, pct=True)] for p, v in by_source.items()])]
    if real.get("sheet"):
        out += ["", "Contact sheet: input | model's mask (red; boxes in green) | skindeep | skindeep with the region "
                "| Telea.", "",
                f"![real-dev sheet]({real['sheet']})"]
    return out + [""]


def _restorer_section(sec: dict) -> list[str]:
    out = ["## The restorer alone (region given)", "",
           "Every method is given the tattoo's region and fills it; skindeep restores it with "
           "`mask_mode=\"replace\"` (as `real_score.py --method skindeep-region`). Photos clean: edge < 0.6, "
           "gap < 0.35 and texture 0.6–1.3 at once (real_score.py). Texture: inside / skin ring (median), and the "
           "share of photos within 0.8–1.25. Seam: the luminance step across the region's border over the same "
           "step across a contour in clean skin 20 px further out (median; ~1 = the border cannot be found).", ""]
    if sec.get("real"):
        s = sec["real"]["summary"]
        n = next(iter(s.values()))["n"]
        out += [f"{n} real-dev photos of `{sec['folder']}` (evenly spaced, both sources):", "",
                table(["method", "photos clean", "edge", "gap", "texture", "texture 0.8–1.25", "seam",
                       "step at border / in skin (grey levels)", "s per photo"],
                      [[METHOD_LABELS.get(m, m), f"{fmt(v['clean'], 0, pct=True)} ({v['clean_count']})",
                        fmt(v["edge"]), fmt(v["gap"]), fmt(v["texture"]), fmt(v["texture_ok"], 0, pct=True),
                        fmt(v["seam"]), f"{fmt(v['seam_step'], 1)} / {fmt(v['skin_step'], 1)}", fmt(v["seconds"])]
                       for m, v in s.items()])]
        if sec["real"].get("sheet"):
            out += ["", "The 12 largest regions: input | region | each method.", "",
                    f"![restorer sheet]({sec['real']['sheet']})"]
    if sec.get("synthetic"):
        s = sec["synthetic"]["summary"]
        n = next(iter(s.values()))["n"]
        out += ["", f"{n} synthetic benchmark pairs, true mask (`ink > 0`) given; PSNR / SSIM inside the ink:", "",
                table(["method", "PSNR in ink (dB)", "SSIM in ink"],
                      [[METHOD_LABELS.get(m, m), fmt(v["psnr_in"]), fmt(v["ssim_in"], 3)] for m, v in s.items()])]
    return out + [""]


def _clean_section(clean: dict) -> list[str]:
    s = clean["summary"]
    out = ["## False positives on held-out clean photos", "",
           f"{s['n']} photos from the validation split of `people/` (round-robin over the name prefixes), "
           "never seen in training. Target: under 0.5 % of pixels changed.", ""]
    out.append(table(["photos", "pixels changed (mean)", "median", "changed > 8 grey levels (mean)",
                      "photos over 0.5 %"],
                     [[str(s["n"]), fmt(s["changed_mean"], 2, pct=True), fmt(s["changed_median"], 2, pct=True),
                       fmt(s["changed_visible_mean"], 2, pct=True), str(s["photos_over_0.5%"])]]))
    ok = s["changed_mean"] < 0.005
    out += ["", f"Target (< 0.5 % changed, mean): **{'met' if ok else 'not met'}**."]
    if s.get("with_skin_mask"):
        out += ["", f"On the {s['with_skin_mask']} photos with a hand-labelled skin mask: "
                    f"{fmt(s['changed_on_skin_mean'], 2, pct=True)} of the skin pixels changed, "
                    f"{fmt(s['changed_off_skin_mean'], 2, pct=True)} of the rest (hair, eyes, lips, clothes, "
                    "background)."]
    if s.get("by_prefix"):
        out += ["", "Pixels changed by source: "
                + ", ".join(f"{k} {fmt(v, 2, pct=True)}" for k, v in s["by_prefix"].items()) + "."]
    if clean.get("sheet"):
        out += ["", "The photos with the most change: input | mask | output.", "", f"![clean sheet]({clean['sheet']})"]
    return out + [""]


def write_report(run: Path) -> Path:
    """Write ``report.md`` (and its plots) into the run folder from its ``metrics.json``."""
    run = Path(run)
    m = load_metrics(run)
    model = m.get("model", {})
    out = ["# skindeep evaluation report", "",
           f"- model: `{model.get('path', '?')}` (sha256 `{str(model.get('sha256', '?'))[:12]}`, "
           f"version {model.get('version', '?')}"
           + "".join(f", {k} {v}" for k, v in (model.get("training") or {}).items()) + ")",
           f"- made {m.get('created', '?')} by `{m.get('command', 'skindeep eval')}` in {fmt(m.get('seconds'), 0)} s",
           f"- skindeep {m.get('skindeep_version', '?')} on {m.get('host', '?')}; seconds per part: "
           + ", ".join(f"{k} {fmt(m[k].get('seconds'), 0)}" for k in ("synthetic", "real", "restorer", "clean")
                       if m.get(k)),
           ""]
    if m.get("synthetic"):
        out += _synthetic_section(run, m["synthetic"], model.get("threshold", float("nan")))
    if m.get("real"):
        out += _real_section(m["real"])
    if m.get("restorer"):
        out += _restorer_section(m["restorer"])
    if m.get("clean"):
        out += _clean_section(m["clean"])
    notes = run / "notes.md"
    if notes.is_file():
        out += [notes.read_text().rstrip(), ""]
    path = run / "report.md"
    path.write_text("\n".join(out))
    return path


# --- compare -------------------------------------------------------------------------------------------

HIGHER = ("psnr_in", "ssim_in", "iou", "f1", "auroc", "best f1 over thresholds")
LOWER = ("feat_in", "outside_change", "outside_changed", "far_changed", "sec_per_mp", "outside", "edge", "gap",
         "changed_mean", "changed_median", "changed_visible_mean", "photos_over_0.5%")


def flatten(m: dict) -> dict[str, float]:
    """The headline figures of a run as ``{"section / ... / figure": value}`` (what compare lines up)."""
    flat: dict[str, float] = {}
    syn = m.get("synthetic")
    if syn:
        s = syn["summary"]
        for meth, v in s["overall"]["methods"].items():
            for k, x in v.items():
                flat[f"synthetic / {meth} / {k}"] = x
        for k, x in s["overall"]["mask"].items():
            flat[f"synthetic / mask / {k}"] = x
        if s["overall"].get("f1_at"):
            flat["synthetic / mask / best f1 over thresholds"] = max(
                (x for x in s["overall"]["f1_at"] if not math.isnan(x)), default=float("nan"))
        flat["synthetic / speed / sec_per_mp"] = s["overall"]["sec_per_mp"]
        for key in ("by_type", "by_size"):
            for g, b in s[key].items():
                flat[f"synthetic / {g} / skindeep / psnr_in"] = b["methods"]["skindeep"]["psnr_in"]
                flat[f"synthetic / {g} / mask / f1"] = b["mask"]["f1"]
    if m.get("real"):
        for meth, v in m["real"]["summary"].items():
            for k in ("outside", "edge", "gap", "texture", "box_changed"):
                flat[f"real / {meth} / {k}"] = v[k]
    if m.get("clean"):
        for k in ("changed_mean", "changed_median", "changed_visible_mean", "photos_over_0.5%"):
            flat[f"clean / {k}"] = m["clean"]["summary"][k]
    return flat


def verdict(key: str, a: float, b: float) -> str:
    """``better`` / ``worse`` / ``same`` for B against A, by the figure's direction ("" when it has none)."""
    figure = key.rsplit(" / ", 1)[-1]
    if any(isinstance(x, float) and (math.isnan(x) or math.isinf(x)) for x in (a, b)) or a is None or b is None:
        return ""
    if figure == "texture":  # 1.0 looks like skin: closer (in log) is better
        a, b = -abs(math.log(max(a, 1e-6))), -abs(math.log(max(b, 1e-6)))
    elif figure in LOWER:
        a, b = -a, -b
    elif figure not in HIGHER:
        return ""
    if abs(b - a) <= 1e-9 * max(1.0, abs(a)):
        return "same"
    return "better" if b > a else "worse"


def compare_runs(run_a: Path, run_b: Path, out_dir: Path) -> Path:
    """Write ``compare.md`` in ``out_dir``: every shared headline figure of A and B with B − A."""
    ma, mb = load_metrics(run_a), load_metrics(run_b)
    fa, fb = flatten(ma), flatten(mb)
    rows = []
    for key in [k for k in fa if k in fb]:
        a, b = fa[key], fb[key]
        delta = b - a if all(isinstance(x, int | float) for x in (a, b)) else float("nan")
        rows.append([key, fmt(a, 3), fmt(b, 3), ("+" if delta > 0 else "") + fmt(delta, 3), verdict(key, a, b)])
    out = ["# skindeep eval: A vs B", "",
           f"- A: `{run_a}` — model `{ma.get('model', {}).get('path', '?')}` "
           f"(sha256 `{str(ma.get('model', {}).get('sha256', '?'))[:12]}`)",
           f"- B: `{run_b}` — model `{mb.get('model', {}).get('path', '?')}` "
           f"(sha256 `{str(mb.get('model', {}).get('sha256', '?'))[:12]}`)", ""]
    sa, sb = ma.get("synthetic", {}), mb.get("synthetic", {})
    if sa and sb and sa.get("set_fingerprint") != sb.get("set_fingerprint"):
        out += ["**Warning:** the two runs scored different synthetic sets (fingerprints differ: other -n, "
                "--sizes or synth engine); synthetic deltas compare different pairs.", ""]
    only = sorted(set(fa) ^ set(fb))
    out.append(table(["figure", "A", "B", "B − A", "B is"], rows))
    if only:
        out += ["", f"Figures in only one run: {', '.join(only)}"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "compare.md"
    path.write_text("\n".join(out) + "\n")
    (out_dir / "compare.json").write_text(json.dumps(
        {"a": str(run_a), "b": str(run_b),
         "rows": [{"figure": k, "a": fa[k], "b": fb[k], "verdict": verdict(k, fa[k], fb[k])} for k in fa if k in fb]},
        indent=1, allow_nan=True))
    return path
