"""Tests for skindeep.model: network shapes, losses, training loop, checkpoints, ONNX export, config, DDP."""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skindeep.errors import SkinDeepError  # noqa: E402
from skindeep.model.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint  # noqa: E402
from skindeep.model.config import (  # noqa: E402
    ConfigError,
    DataConfig,
    LossConfig,
    StageConfig,
    TrainConfig,
    config_from_dict,
    load_config,
)
from skindeep.model.data import FolderDataset, Triple, read_triple  # noqa: E402
from skindeep.model.export import PARITY_TOLERANCE, ExportError, check_parity, export_onnx  # noqa: E402
from skindeep.model.losses import SkinDeepLoss  # noqa: E402
from skindeep.model.net import SkinDeepNet, predict  # noqa: E402
from skindeep.model.validate import image_scores, telea  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# One thread: on a shared, busy CPU, spinning OpenMP threads make small steps many times slower.
torch.set_num_threads(1)


def make_triple(rng: np.random.Generator, h: int, w: int) -> Triple:
    """A smooth 'skin' with 2-5 dark strokes multiplied in (ink alpha 0..255)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.array([200, 150, 120], np.float32) + rng.uniform(-30, 30, 3)
    clean = base + 20 * np.sin(xx / rng.uniform(8, 20))[..., None] + rng.normal(0, 3, (h, w, 1))
    clean = clean.clip(0, 255).astype(np.uint8)
    ink = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 6))):
        p1, p2 = rng.integers(0, [w, h], 2), rng.integers(0, [w, h], 2)
        cv2.line(ink, tuple(int(v) for v in p1), tuple(int(v) for v in p2), int(rng.integers(150, 256)), 3)
    a = ink[..., None].astype(np.float32) / 255
    tattooed = (clean * (1 - a) + a * np.array([20, 30, 40], np.float32)).round().astype(np.uint8)
    return Triple(tattooed, clean, ink)


def write_folder(folder: Path, n: int, size: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        t = make_triple(rng, size, size + 16)
        cv2.imwrite(str(folder / f"s{i:03d}.tattooed.png"), cv2.cvtColor(t.tattooed, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / f"s{i:03d}.clean.png"), cv2.cvtColor(t.clean, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / f"s{i:03d}.ink.png"), t.ink)
    return folder


@pytest.fixture(scope="module")
def model() -> SkinDeepNet:
    torch.manual_seed(0)
    return SkinDeepNet(pretrained=True).eval()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("samples")
    return write_folder(root / "train", 6, 96), write_folder(root / "val", 2, 96, seed=1)


def tiny_config(train_dir: Path, val_dir: Path, **kw) -> TrainConfig:
    cfg = TrainConfig(
        data=DataConfig(train_dir=str(train_dir), val_dir=str(val_dir), workers=0, synth_size=96),
        stages=[StageConfig(size=64, steps=2, batch=2, lr=1e-3), StageConfig(size=96, steps=2, batch=2, lr=5e-4)],
        val_every=2, log_every=1, threads=1, **kw,
    )
    return cfg.validate()


def test_output_shapes_and_range(model):
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        logits, clean = model(x)
    assert logits.shape == (2, 1, 64, 96)
    assert clean.shape == (2, 3, 64, 96)
    assert float(clean.min()) >= 0.0 and float(clean.max()) <= 1.0


def test_odd_sizes_error_or_pad(model):
    x = torch.rand(1, 3, 50, 70)
    with pytest.raises(ValueError, match="multiples of 32"):
        model(x)
    with torch.no_grad():
        prob, clean = predict(model, x)
    assert prob.shape == (1, 1, 50, 70) and clean.shape == (1, 3, 50, 70)


def test_zero_ink_prediction_changes_nothing():
    torch.manual_seed(1)
    net = SkinDeepNet(pretrained=False).eval()
    torch.nn.init.normal_(net.rgb_head[-1].weight, std=1.0)  # a restorer that would change every pixel
    torch.nn.init.zeros_(net.ink_head[-1].weight)  # ...but the ink probability is 0 everywhere
    torch.nn.init.zeros_(net.ink_head[-1].bias)
    torch.nn.init.constant_(net.ink_refine[-1].bias, -200.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        logits, clean = net(x)
    assert float(torch.sigmoid(logits).max()) < 1e-30
    assert torch.equal(clean, x)
    torch.nn.init.constant_(net.ink_refine[-1].bias, 0.0)  # with ink, the restorer does act
    with torch.no_grad():
        assert float((net(x)[1] - x).abs().max()) > 1e-2


def test_few_steps_lower_the_loss(folders):
    torch.manual_seed(0)
    net = SkinDeepNet(pretrained=True)
    net.train()
    crit = SkinDeepLoss()
    ds = FolderDataset(folders[0], 64, seed=0, length=4)
    batch = {k: torch.stack([ds[i][k] for i in range(4)]) for k in ("tattooed", "clean", "ink")}
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        terms = crit(*net(batch["tattooed"]), batch["clean"], batch["ink"])
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        losses.append(terms.parts["total"])
    assert np.mean(losses[-3:]) < 0.9 * losses[0], losses


def test_checkpoint_round_trip(tmp_path, model, folders):
    cfg = tiny_config(*folders)
    save_checkpoint(tmp_path / "c.pt", {"model": model.state_dict(), "config": cfg.to_dict(), "step": 7})
    loaded, cfg2, state = model_from_checkpoint(tmp_path / "c.pt")
    assert cfg2 == cfg and state["step"] == 7
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x), strict=True):
            assert torch.equal(a, b)


def test_bad_checkpoint_names_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="bad.pt"):
        load_checkpoint(bad)


def test_onnx_parity_and_loud_failure(tmp_path, model):
    import onnxruntime as ort

    path = export_onnx(model, tmp_path / "m.onnx", sample_size=64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image"]
    assert [o.name for o in sess.get_outputs()] == ["ink", "clean"]
    report = check_parity(model, path, sizes=((64, 96), (128, 64)))
    assert report.ok and report.max_abs_clean < 1e-3
    ink = sess.run(["ink"], {"image": np.random.rand(1, 3, 96, 128).astype(np.float32)})[0]
    assert ink.shape == (1, 1, 96, 128) and 0 <= ink.min() and ink.max() <= 1
    other = SkinDeepNet(pretrained=False).eval()  # different weights: parity must fail loudly
    torch.nn.init.normal_(other.rgb_head[-1].weight, std=1.0)
    with pytest.raises(ExportError, match="differs from torch"):
        check_parity(other, path, sizes=((64, 64),))


def photo_inputs() -> list[torch.Tensor]:
    """The bundled example photo (a real FRL portrait with a synthetic neck tattoo) at two sizes, as
    (1, 3, H, W) float32 in 0..1: a 160x224 crop round the tattoo, and the whole photo shrunk to 256x256."""
    from skindeep.io import read_image

    rgb = read_image(ROOT / "examples" / "tattooed.jpg").rgb
    crops = [rgb[320:480, 192:416], cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA)]
    return [torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1)[None].float() / 255 for c in crops]


def onnx_vs_torch(onnx_path: Path, net: SkinDeepNet) -> float:
    """Largest |onnxruntime - torch| over both outputs and both photo sizes, torch being ``predict`` on the
    trained network object itself (spectral norm as trained, eval mode), not a folded copy."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in photo_inputs():
        with torch.no_grad():
            want = [t.numpy() for t in predict(net.eval(), x)]
        got = sess.run(["ink", "clean"], {"image": x.numpy()})
        assert [g.shape for g in got] == [w.shape for w in want]
        worst = max(worst, *(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True)))
    return worst


def spectral_sigmas(net: SkinDeepNet) -> list[float]:
    """Each spectrally-normalised layer's sigma (|weight_orig| / |weight|) as the network uses it in eval."""
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, 64, 64))  # the eval forward sets .weight = weight_orig / sigma
        return [float(m.weight_orig.norm() / m.weight.norm()) for m in net.modules() if hasattr(m, "weight_orig")]


@pytest.fixture(scope="module")
def sn_net() -> SkinDeepNet:
    """A small spectrally-normalised network after 3 training steps, in eval mode: the power iterations
    have run and its layers' sigmas are far from 1, as in a trained model, so getting the normalisation
    wrong changes the output."""
    torch.manual_seed(0)
    net = SkinDeepNet(pretrained=False, decoder_channels=(32, 24, 16, 8))
    torch.nn.init.normal_(net.rgb_head[-1].weight, std=0.5)  # both heads start at 0, which would hide
    torch.nn.init.normal_(net.ink_refine[-1].weight, std=0.5)  # the decoder's layers from the outputs
    with torch.no_grad():  # trained SN weights drift in scale (the shipped model's sigmas are 1.0-9.5)
        for m in net.modules():
            if hasattr(m, "weight_orig"):
                m.weight_orig.mul_(3.0)
    ts = [make_triple(np.random.default_rng(i), 64, 64) for i in range(2)]
    batch = {k: torch.from_numpy(np.stack([getattr(t, k) for t in ts])).float() / 255
             for k in ("tattooed", "clean", "ink")}
    x, clean, ink = batch["tattooed"].permute(0, 3, 1, 2), batch["clean"].permute(0, 3, 1, 2), batch["ink"][:, None]
    crit = SkinDeepLoss(LossConfig(perceptual=0, gram=0), pretrained=False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for _ in range(3):  # each training forward also runs one power iteration per SN layer
        loss = crit(*net(x), clean, ink).total
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def test_exported_onnx_matches_the_trained_network_on_a_photo(tmp_path, sn_net):
    """Export vs the network object that was trained, not vs export's own folded copy: a fold that got
    the spectral normalisation wrong must fail here."""
    sigmas = spectral_sigmas(sn_net)
    assert len(sigmas) >= 10 and min(sigmas) > 1.5, sigmas  # skipping the normalisation would show
    path = export_onnx(sn_net, tmp_path / "m.onnx", sample_size=64)
    assert onnx_vs_torch(path, sn_net) < PARITY_TOLERANCE


def test_check_parity_refuses_an_export_whose_fold_is_wrong(tmp_path, sn_net, monkeypatch):
    """The export-time check (whose figures go into skindeep.json) compares with the trained network
    too, so an export through a fold that skips the normalisation is refused, not shipped."""
    from skindeep.model import export

    def fold_without_normalising(model):
        model = copy.deepcopy(model).eval()
        for m in model.modules():
            if hasattr(m, "weight_orig"):
                weight = m.weight_orig.detach().clone()
                torch.nn.utils.remove_spectral_norm(m)
                m.weight.data.copy_(weight)
        return model

    monkeypatch.setattr(export, "fold_spectral_norm", fold_without_normalising)
    path = export_onnx(sn_net, tmp_path / "bad.onnx", sample_size=64)
    with pytest.raises(ExportError, match="differs from torch"):
        check_parity(sn_net, path, sizes=((64, 96), (128, 128)))


def test_config_validation_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"stages\[0\].size"):
        config_from_dict({"stages": [{"size": 100}]})
    with pytest.raises(ConfigError, match="unknown key.*loss.l2"):
        config_from_dict({"loss": {"l2": 1.0}})
    with pytest.raises(ConfigError, match="threads must be int"):
        config_from_dict({"threads": "two"})
    with pytest.raises(ConfigError, match="data.max_zoom"):
        config_from_dict({"data": {"max_zoom": 0.5}})
    with pytest.raises(ConfigError, match="lr"):
        config_from_dict({"stages": [{"size": 64, "lr": 5.0}]})
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\n")
    with pytest.raises(ConfigError, match="bad.toml.*TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="missing.toml"):
        load_config(tmp_path / "missing.toml")


def test_shipped_configs_are_valid():
    configs = sorted((ROOT / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        cfg = load_config(path)
        assert cfg.total_steps > 0


def test_validation_scores():
    t = make_triple(np.random.default_rng(3), 64, 64)
    perfect = image_scores(t.clean, t, t.ink / 255.0, 0.1)
    assert perfect["psnr_in"] > 60 and perfect["ssim_in"] > 0.99 and perfect["iou"] == 1.0
    assert perfect["change_out"] == 0.0
    ident = image_scores(t.tattooed, t, np.zeros(t.ink.shape), 0.1)
    assert ident["psnr_in"] < 20 and ident["f1"] == 0.0
    assert image_scores(telea(t), t, None, 0.1)["psnr_in"] > ident["psnr_in"]


def test_train_loop_checkpoints_and_resumes(tmp_path, folders):
    from skindeep.model.train import train

    cfg = tiny_config(*folders)
    out = tmp_path / "run"
    handler_before = signal.getsignal(signal.SIGINT)
    state = train(cfg, out, max_steps=3, log=lambda m: None)
    assert state["step"] == 3 and state["stage"] == 1
    assert signal.getsignal(signal.SIGINT) is handler_before  # a library call gives Ctrl-C back
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file() and (out / "telea.json").is_file()
    assert load_checkpoint(out / "last.pt")["step"] == 3
    state = train(cfg, out, resume=True, log=lambda m: None)
    assert state["step"] == 4 and state["stage"] == 2
    record = (out / "config.json").read_text()
    other = replace(cfg, model=replace(cfg.model, attention=not cfg.model.attention))
    with pytest.raises(SkinDeepError, match="last.pt.*cannot resume.*--init"):
        train(other, out, resume=True, log=lambda m: None)
    assert (out / "config.json").read_text() == record  # a refused resume leaves the run's record alone
    rows = list(csv.DictReader((out / "train.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    vals = list(csv.DictReader((out / "val.csv").open()))
    assert len(vals) >= 2 and all(np.isfinite(float(v["psnr_in"])) for v in vals)
    logs: list[str] = []
    state = train(cfg, tmp_path / "ft", init=out / "best.pt", max_steps=1, log=logs.append)
    assert state["step"] == 1 and any("initialised weights from" in m for m in logs)
    from skindeep.model.checkpoint import slim_checkpoint

    slim = slim_checkpoint(out / "best.pt", tmp_path / "slim.pt")
    assert slim.stat().st_size < (out / "best.pt").stat().st_size / 2  # no optimizer, float16
    state = train(cfg, tmp_path / "ft2", init=slim, max_steps=1, log=lambda m: None)
    assert state["step"] == 1
    sample = read_triple(folders[1], "s000")
    assert sample.tattooed.shape == (96, 112, 3)

    from skindeep.model.export import export_checkpoint

    meta = export_checkpoint(out / "best.pt", tmp_path / "w" / "m.onnx", timing=False, input_blur=1.5,
                             grow_threshold=0.3, coarse_detect_size=192, coarse_support=0.3)

    def no_nan(token):
        raise AssertionError(f"non-strict JSON constant {token}")

    written = json.loads((tmp_path / "w" / "m.json").read_text(), parse_constant=no_nan)
    assert written == meta and written["train_size"] == 96 and written["parity"]["max_abs_clean"] < 1e-3
    assert written["recommended_detect_size"] > 0
    assert 0.3 <= written["threshold"] <= 0.7 and 0 <= written["threshold_val_f1"] <= 1  # picked on val
    from skindeep.remove.session import ModelInfo

    info = ModelInfo.load(tmp_path / "w" / "m.onnx")
    assert info.recommended == {"detect_size": 320, "restore_side": 320, "input_blur": 1.5, "grow_threshold": 0.3,
                                "coarse_detect_size": 192, "coarse_support": 0.3}  # the remover reads them
    with pytest.raises(TypeError, match=r"not model settings: \['detect_sise'\]"):
        export_checkpoint(out / "best.pt", tmp_path / "w" / "m2.onnx", timing=False, detect_sise=256)


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path, folders):
    """torchrun with 2 processes on gloo: both train, rank 0 alone writes the checkpoint."""
    cfg_path = tmp_path / "ddp.toml"
    cfg_path.write_text(
        f'threads = 1\nval_every = 2\nlog_every = 1\n[data]\ntrain_dir = "{folders[0]}"\nval_dir = "{folders[1]}"\n'
        'workers = 0\nsynth_size = 64\n[[stages]]\nsize = 64\nsteps = 2\nbatch = 2\nlr = 1e-3\n'
    )
    exe = shutil.which("skindeep") or str(Path(sys.executable).parent / "skindeep")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", exe, "train",
         "--config", str(cfg_path), "--out", str(out)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == 2 and state["stage"] == 1
    assert [int(r["step"]) for r in csv.DictReader((out / "train.csv").open())] == [1, 2]


def test_online_synth_dataset(shared_data):
    """Online synthesis on the project's train split gives crops of the stage size, ink where changed."""
    from skindeep.model.data import SynthDataset

    ds = SynthDataset(shared_data / "people", shared_data / "designs", size=64, synth_size=128, seed=5, length=3)
    item = ds[1]
    assert item["tattooed"].shape == (3, 64, 64) and item["ink"].shape == (1, 64, 64)
    changed = (item["tattooed"] - item["clean"]).abs().amax(0) > 3 / 255
    assert not bool(changed[item["ink"][0] == 0].any())  # no ink, no change (resizing keeps this)
    again = ds[1]
    assert torch.equal(again["tattooed"], item["tattooed"])  # deterministic in (seed, index)


def test_zoomed_crops_enlarge_the_ink():
    """max_zoom > 1 takes smaller crops and enlarges them: same size out, ink strokes wider on average."""
    from skindeep.model.data import random_crop

    t = make_triple(np.random.default_rng(4), 128, 128)

    def mean_stroke_fraction(zoom: float) -> float:
        rng = np.random.default_rng(0)
        crops = [random_crop(t, 64, rng, max_zoom=zoom) for _ in range(40)]
        assert all(c.tattooed.shape == (64, 64, 3) and c.ink.shape == (64, 64) for c in crops)
        # thickness proxy: share of ink pixels whose 4 neighbours are all ink (interior of strokes)
        inner = [((c.ink[1:-1, 1:-1] > 0) & (c.ink[:-2, 1:-1] > 0) & (c.ink[2:, 1:-1] > 0)
                  & (c.ink[1:-1, :-2] > 0) & (c.ink[1:-1, 2:] > 0)).sum() / max((c.ink > 0).sum(), 1)
                 for c in crops]
        return float(np.mean(inner))

    assert mean_stroke_fraction(4.0) > mean_stroke_fraction(1.0) + 0.02  # 0.61 vs 0.57 with these seeds


def test_colour_grade_keeps_the_pair_exact_and_varies_the_colour():
    """The grade is one per-pixel function for both images: equal where ink == 0, ink untouched; and it
    really changes colour (some grades near-grey: saturation down to 0.1)."""
    from skindeep.model.data import augment, colour_grade

    t = make_triple(np.random.default_rng(5), 64, 64)
    outside = t.ink == 0
    assert np.array_equal(t.tattooed[outside], t.clean[outside])
    sats = []
    for seed in range(20):
        g = colour_grade(t, np.random.default_rng(seed))
        assert np.array_equal(g.ink, t.ink)
        assert np.array_equal(g.tattooed[outside], g.clean[outside])
        assert np.abs(g.clean.astype(int) - t.clean).mean() > 0.5
        f = g.clean.astype(np.float32)
        sats.append(float((f.max(-1) - f.min(-1)).mean()))
    f = t.clean.astype(np.float32)
    assert min(sats) < 0.5 * float((f.max(-1) - f.min(-1)).mean())
    # p_grade = 0 draws nothing extra: same crops as random_crop alone
    from skindeep.model.data import random_crop

    a = augment(t, 32, np.random.default_rng(1), 1.0, 0.0)
    b = random_crop(t, 32, np.random.default_rng(1))
    assert np.array_equal(a.tattooed, b.tattooed)


def test_mask_target_makes_faint_ink_a_certain_detection():
    """loss.mask_target > 0: faint ink (alpha 0.3) is a full "ink" target, so a confident p ~ 1 costs
    almost nothing; with the soft target the same prediction is penalised (it should say 0.3)."""
    from skindeep.model.config import LossConfig

    ink = torch.full((1, 1, 16, 16), 0.3)
    ink[..., :4] = 0.0  # and some skin without ink
    logits = torch.where(ink > 0, torch.tensor(6.0), torch.tensor(-6.0))
    clean = torch.rand(1, 3, 16, 16)
    soft = SkinDeepLoss(LossConfig(perceptual=0, gram=0), pretrained=False)(logits, clean, clean, ink)
    hard = SkinDeepLoss(LossConfig(perceptual=0, gram=0, mask_target=0.1), pretrained=False)(logits, clean, clean, ink)
    assert hard.parts["bce"] < 0.01 < 1.0 < soft.parts["bce"]
    assert hard.parts["dice"] < 0.01 < soft.parts["dice"]


def test_sharpen_keeps_the_pair_exact_and_adds_detail():
    from skindeep.model.data import sharpen

    t = make_triple(np.random.default_rng(6), 64, 64)
    for seed in range(5):
        s = sharpen(t, np.random.default_rng(seed))
        outside = s.ink == 0
        assert np.array_equal(s.tattooed[outside], s.clean[outside])
        assert (s.ink >= t.ink).all()  # the ink only grows (by the filter's reach)
        lap = lambda a: np.abs(cv2.Laplacian(a.astype(np.float32), cv2.CV_32F)).mean()  # noqa: E731
        assert lap(s.clean) > 1.2 * lap(t.clean)


def test_hard_negative_bce_is_the_mean_of_the_worst_non_ink_pixels():
    import torch

    from skindeep.model.losses import hard_negative_bce

    target = torch.zeros(1, 1, 10, 10)
    target[..., :2, :] = 1.0  # 20 ink pixels, 80 non-ink
    logits = torch.full((1, 1, 10, 10), -5.0)
    logits[..., 9, 0] = 4.0  # one confident false alarm
    logits[..., :2, :] = -8.0  # ink pixels badly wrong: must not count
    worst = torch.nn.functional.softplus(torch.tensor(4.0))
    assert torch.isclose(hard_negative_bce(logits, target, 1 / 80), worst)
    half = hard_negative_bce(logits, target, 0.5)  # 40 pixels: the false alarm and 39 easy ones
    assert torch.isclose(half, (worst + 39 * torch.nn.functional.softplus(torch.tensor(-5.0))) / 40)
    assert hard_negative_bce(logits, torch.ones_like(target), 0.1) == 0


def test_csv_log_keeps_an_existing_header(tmp_path):
    from skindeep.model.train import CsvLog

    path = tmp_path / "train.csv"
    CsvLog(path, ["step", "bce"]).write({"step": 1, "bce": 0.5})
    log = CsvLog(path, ["step", "hard_neg", "bce"])  # a newer version, resumed on the old file
    log.write({"step": 2, "hard_neg": 9.0, "bce": 0.25})
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["step", "bce"] and rows[2][0] == "2" and float(rows[2][1]) == 0.25
