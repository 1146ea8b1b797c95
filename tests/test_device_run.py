"""The GPU run, dry: the device pack, the one-call script on the CPU, and the pieces it stands on.

Everything here runs on tiny data the tests make themselves (no ../shared/data needed), so CI runs the
very script a lent GPU machine will run (``scripts/device_train.sh``), with ``--device cpu --budget 60``.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from skindeep.model.config import ConfigError, config_from_dict, load_config
from skindeep.model.devicepack import PackConfig, PackError, build_pack

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "skindeep" / "weights" / "skindeep.onnx"
MIB = 1024 * 1024

SVGS = {
    "circle": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><circle cx="50" cy="50" r="40" '
              'fill="none" stroke="black" stroke-width="8"/></svg>',
    "star": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><path d="M50 5 L61 39 L97 39 L68 61 '
            'L79 95 L50 74 L21 95 L32 61 L3 39 L39 39 Z" fill="black"/></svg>',
    "bars": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect x="10" y="10" width="20" '
            'height="80"/><rect x="45" y="10" width="10" height="80"/><rect x="70" y="30" width="20" height="40"/></svg>',
}


def make_tiny_shared(root: Path) -> Path:
    """A shared-data folder in miniature: 12 skin-coloured 'people' photos with skin masks, 3 SVG
    designs, 10 'real-train' photos with boxes."""
    rng = np.random.default_rng(0)
    people, designs, real = root / "people", root / "designs" / "icons", root / "real-train"
    for d in (people, designs, real):
        d.mkdir(parents=True)
    for i in range(12):
        tone = np.array([120, 150, 205]) * rng.uniform(0.7, 1.0)  # BGR skin
        img = np.clip(tone + rng.normal(0, 6, (240, 180, 3)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(people / f"arm_{i:04d}.jpg"), img)
        mask = np.zeros((240, 180), np.uint8)
        mask[10:230, 20:160] = 255
        cv2.imwrite(str(people / f"arm_{i:04d}.skin.png"), mask)
    for name, text in SVGS.items():
        (designs / f"{name}.svg").write_text(text)
    for i in range(10):
        img = np.clip(np.array([120, 150, 205]) + rng.normal(0, 6, (200, 160, 3)), 0, 255).astype(np.uint8)
        cv2.circle(img, (80, 100), 30, (30, 30, 30), 6)
        cv2.imwrite(str(real / f"insta_{i:04d}.jpg"), img)
        (real / f"insta_{i:04d}.json").write_text(json.dumps({"boxes": [[40, 60, 120, 140]]}))
    return root


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("device")
    shared = make_tiny_shared(root / "shared")
    labels = root / "pseudo"  # a pseudo-label for every real photo, hold-out included: only the train part travels
    labels.mkdir()
    for photo in (shared / "real-train").glob("*.jpg"):
        label = np.zeros((200, 160), np.uint8)
        label[70:130, 50:110] = 255
        cv2.imwrite(str(labels / f"{photo.stem}.png"), label)
    build_pack(PackConfig(shared=str(shared), out=str(root / "pack"), val_n=4, val_size=128, wheels="",
                          repo=str(REPO), pseudo=str(labels)), log=lambda _m: None)
    return root / "pack"


def test_pack_holds_the_train_split_and_a_manifest(tiny_pack):
    m = json.loads((tiny_pack / "manifest.json").read_text())
    # 12 photos, the project split keeps 1 (10 %) for validation: it must not travel
    assert m["counts"]["people"] == 11 and len(list((tiny_pack / "people").glob("*.jpg"))) == 11
    assert len(list((tiny_pack / "people").glob("*.skin.png"))) == 11
    # real-train: THE split (by source and subject); the hold-out never travels into the training part
    from skindeep.synth import split_real_train

    train, held = split_real_train(tiny_pack.parent / "shared" / "real-train")
    assert held and m["counts"]["real_train_train"] == len(train) and m["counts"]["real_train_val"] == len(held)
    assert {p.name for p in (tiny_pack / "real-train" / "train").glob("*.jpg")} == {p.name for p in train}
    assert m["counts"]["val"] == 4 and len(list((tiny_pack / "val").glob("*.tattooed.png"))) == 4
    assert m["total_mib"] <= 64 and m["pack_bytes"] == sum(m["bytes"].values())
    # boxes are scaled with the photo: 200 px high -> 200 px (no enlargement), so unchanged
    meta = json.loads(next((tiny_pack / "real-train" / "val").glob("*.json")).read_text())
    assert meta["boxes"] == [[40, 60, 120, 140]]
    # pseudo-labels: the train part's only, at the packed photo's size
    packed = {p.stem for p in (tiny_pack / "real-train" / "pseudo").glob("*.png")}
    assert packed == {p.stem for p in train} and m["counts"]["pseudo"] == len(train)
    for stem in packed:
        label = cv2.imread(str(tiny_pack / "real-train" / "pseudo" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
        assert label.shape == cv2.imread(str(tiny_pack / "real-train" / "train" / f"{stem}.jpg")).shape[:2]


def test_pack_over_the_limit_fails_loudly(tmp_path):
    shared = make_tiny_shared(tmp_path / "shared")
    with pytest.raises(PackError, match="over the 1 MiB"):
        build_pack(PackConfig(shared=str(shared), out=str(tmp_path / "pack"), val_n=1, val_size=64, wheels="",
                              repo=str(REPO), limit=MIB), log=lambda _m: None)


def test_pack_never_deletes_a_folder_that_is_not_a_pack(tmp_path):
    shared = make_tiny_shared(tmp_path / "shared")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(PackError, match="not a device pack"):
        build_pack(PackConfig(shared=str(shared), out=str(tmp_path / "mine"), wheels="", repo=str(REPO)),
                   log=lambda _m: None)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_script_refuses_a_non_empty_out_folder(tmp_path, tiny_pack):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "checkpoint.pt").write_text("an earlier run")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "device_train.sh"), "--device", "cpu", "--budget", "60",
                           "--pack", str(tiny_pack), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "out" / "checkpoint.pt").read_text() == "an earlier run"


def test_pack_without_wheels_names_the_download_command(tmp_path):
    shared = make_tiny_shared(tmp_path / "shared")
    with pytest.raises(PackError, match="pip download"):
        build_pack(PackConfig(shared=str(shared), out=str(tmp_path / "pack"), val_n=1, val_size=64,
                              wheels=str(tmp_path / "no-wheels"), repo=str(REPO)), log=lambda _m: None)


def test_synth_stream_reuses_each_sample_and_counts_them(tiny_pack, tmp_path):
    from skindeep.model.data import SynthStream
    from skindeep.model.devicepack import unpack

    paths = unpack(tiny_pack, tmp_path / "work")
    stream = SynthStream(paths["people"], paths["designs"], 64, 128, {"real-v3": 1.0, "default": 1.0}, seed=3,
                         reuse=3, pool=2, split="all")
    items = [item for _, item in zip(range(12), iter(stream), strict=False)]
    ids = [int(it["sample_id"]) for it in items]
    assert len(set(ids)) == 4  # 12 crops, 3 per synthesised sample
    assert all(it["tattooed"].dtype == torch.uint8 and it["tattooed"].shape == (3, 64, 64) for it in items)
    again = [int(it["sample_id"]) for _, it in zip(range(12), iter(stream), strict=False)]
    assert again == ids  # deterministic in the seed


def test_one_cycle_lr_matches_torch():
    from skindeep.model.train import one_cycle_lr

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=101, pct_start=0.2, div_factor=10.0,
                                                final_div_factor=100.0)
    for step in range(101):
        # torch's phase boundary sits at step pct_start * total - 1 = 19.2 of 100 intervals
        progress = step / 19.2 * 0.2 if step <= 19.2 else 0.2 + (step - 19.2) / (100 - 19.2) * 0.8
        assert math.isclose(one_cycle_lr(progress, 0.01), sched.get_last_lr()[0], rel_tol=1e-6), step
        opt.step()
        sched.step()


def test_config_rejects_unknown_presets_and_devices():
    with pytest.raises(ConfigError, match="data.synth_presets"):
        config_from_dict({"data": {"synth_presets": {"real-v99": 1.0}}})
    with pytest.raises(ConfigError, match="data.realink_dir"):  # real-v8 draws real ink layers: name them
        config_from_dict({"data": {"synth_presets": {"real-v8": 1.0}}})
    assert config_from_dict({"data": {"synth_presets": {"real-v8": 1.0}, "realink_dir": "x"}}).data.realink_dir == "x"
    with pytest.raises(ConfigError, match="device"):
        config_from_dict({"device": "tpu"})
    cfg = load_config(REPO / "configs" / "gpu.toml")
    assert cfg.data.synth_presets == {"real-v3": 4.5, "real-v2": 1.2, "default": 0.8}
    assert cfg.amp and cfg.channels_last and cfg.data.workers == 15


def test_shipped_onnx_rebuilds_a_torch_network_with_the_same_outputs():
    """The repository keeps no torch state: fine-tunes start from the ONNX rebuilt as a network. Its
    outputs must be the ONNX's on a real photo crop (the bundled example)."""
    import onnxruntime as ort

    from skindeep.model.from_onnx import model_from_onnx

    model = model_from_onnx(SHIPPED)
    rgb = cv2.cvtColor(cv2.imread(str(REPO / "examples" / "tattooed.jpg")), cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w * 320 / h / 32) * 32, 320), interpolation=cv2.INTER_AREA)  # whole photo
    x = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        logit, clean = model(x)[:2]
    ink_o, clean_o = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"]).run(
        ["ink", "clean"], {"image": x.numpy()})
    assert np.abs(torch.sigmoid(logit).numpy() - ink_o).max() < 1e-3
    assert np.abs(clean.numpy() - clean_o).max() < 1e-3
    assert float(ink_o.max()) > 0.5  # the example's tattoo is found: the comparison is not of blanks


@pytest.mark.slow
def test_device_train_script_dry_run_on_cpu(tiny_pack, tmp_path):
    """``scripts/device_train.sh --device cpu --budget 60``: the script a GPU call runs, end to end."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(REPO / "scripts" / "device_train.sh"), "--device", "cpu", "--budget", "60",
                           "--pack", str(tiny_pack), "--out", str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = {p.name for p in out.iterdir()}
    assert {"checkpoint.pt", "skindeep.json", "metrics.json", "sheet.jpg", "log.txt"} <= names
    # the ONNX comes back as is, or gzipped when it is over what the tool brings back (with a skin network)
    assert len(names & {"skindeep.onnx", "skindeep.onnx.gz"}) == 1, names
    assert len(names) <= 8 and all((out / n).stat().st_size < 16 * MIB for n in names)

    m = json.loads((out / "metrics.json").read_text())
    assert m["sample_steps"] > 0 and m["distinct_samples"] >= 1 and m["steps"] >= 1
    for who in ("run", "shipped"):
        for key in ("psnr_in", "ssim_in", "f1", "change_out"):
            assert isinstance(m["val"][who][key], float) and math.isfinite(m["val"][who][key]), (who, key)
    assert m["seconds"]["total"] < 60 * 1.5, m["seconds"]  # the budget holds (CI load: some slack)

    # the checkpoint loads, weights are float16 (what comes back is small), and the ONNX is that network
    from skindeep.model.checkpoint import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(out / "checkpoint.pt")
    assert all(v.dtype == torch.float16 for v in state["model"].values() if v.is_floating_point())
    model = model_from_checkpoint(out / "checkpoint.pt")[0]
    import onnxruntime as ort

    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logit, clean = model(x)[:2]
    onnx_bytes = ((out / "skindeep.onnx").read_bytes() if (out / "skindeep.onnx").exists()
                  else gzip.decompress((out / "skindeep.onnx.gz").read_bytes()))
    ink_o, clean_o = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(
        ["ink", "clean"], {"image": x.numpy()})
    assert np.abs(torch.sigmoid(logit).numpy() - ink_o).max() < 1e-3
    assert np.abs(clean.numpy() - clean_o).max() < 1e-3
    meta = json.loads((out / "skindeep.json").read_text())
    assert meta["threshold"] == json.loads(SHIPPED.with_suffix(".json").read_text())["threshold"]


def test_tracked_tree_stays_small():
    """The repository travels to the GPU machine with the pack (64 MiB in all): the tracked tree stays
    under 25 MB (it was 49 MB with three training states inside the package, issue 17)."""
    from skindeep.model.devicepack import travelling_bytes

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked tree cannot be listed")
    assert travelling_bytes(REPO) < 25_000_000
    assert not list((REPO / "src" / "skindeep" / "weights").glob("**/*.pt"))  # no training state in the package


@pytest.mark.slow
def test_gpu_step_path_bf16_channels_last_uint8_runs_on_cpu():
    """The GPU run's step (bf16 autocast, channels-last, uint8 batches from SynthStream) cannot be run
    here on a GPU; run the same code path on the CPU so dtype/layout mistakes show up before a lease
    (~10 s: bf16 convolutions are slow on a CPU)."""
    from skindeep.model.config import LossConfig, ModelConfig
    from skindeep.model.losses import SkinDeepLoss
    from skindeep.model.net import build_model
    from skindeep.model.train import Device, train_step

    torch.manual_seed(0)
    model = build_model(ModelConfig(pretrained=False), pretrained=False).to(memory_format=torch.channels_last)
    model.train()
    criterion = SkinDeepLoss(LossConfig(mask_target=0.1, hard_negative=0.5), pretrained=False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8, generator=gen)
    ink = torch.zeros(1, 1, 64, 64, dtype=torch.uint8)
    ink[:, :, 20:40, 20:40] = 255
    tattooed = torch.where(ink > 0, clean // 4, clean)
    before = model.bridge.conv.weight_orig.detach().clone()
    terms = train_step(model, model, criterion, opt, {"tattooed": tattooed, "clean": clean, "ink": ink},
                       Device(torch.device("cpu"), amp=True, channels_last=True), grad_clip=1.0)
    assert math.isfinite(terms.parts["total"]) and terms.parts["l1"] > 0
    assert not torch.equal(before, model.bridge.conv.weight_orig)


def test_synth_stream_draws_real_ink_layers_for_real_v8(tiny_pack, tmp_path):
    from skindeep.errors import InputError
    from skindeep.model.data import SynthStream
    from skindeep.model.devicepack import unpack
    from skindeep.synth.realink import write_layer

    paths = unpack(tiny_pack, tmp_path / "work")
    bank = tmp_path / "ink"
    bank.mkdir()
    write_layer(bank / "bar_0.png", np.ones((40, 40), np.float32), np.full((40, 40, 3), 0.2, np.float32))
    stream = SynthStream(paths["people"], paths["designs"], 64, 128, {"real-v8": 1.0}, seed=3, split="all",
                         realink=bank)
    items = [item for _, item in zip(range(6), iter(stream), strict=False)]
    assert any(int(it["ink"].max()) > 200 for it in items)
    with pytest.raises(InputError, match="real ink layers"):
        next(iter(SynthStream(paths["people"], paths["designs"], 64, 128, {"real-v8": 1.0}, split="all")))
