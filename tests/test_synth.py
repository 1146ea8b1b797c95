"""Tests of the synthetic data engine (skindeep.synth) and `skindeep synth`. Fast, CPU, tiny data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from skindeep.errors import InputError
from skindeep.synth import (
    SOURCES,
    SynthConfig,
    Synthesizer,
    load_sample,
    read_sample_dir,
    split_designs,
    split_photos,
    write_sample,
)
from skindeep.synth.realink import write_layer

SVG_FILL = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M1 1H9V9H1Z" fill="#000"/></svg>'
SVG_LINE = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M1 5H9M5 1V9" '
            'stroke="#000" stroke-width="1" fill="none"/></svg>')
SVG_COLOR = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" '
             'fill="#d22" stroke="#000" stroke-width="0.5"/></svg>')


def _skin_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A warm skin-like RGB image with texture (BGR for cv2.imwrite)."""
    base = np.array([205, 150, 125], np.float32)
    img = base + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    """people/ with 3 photos (one with a half-skin mask) and designs/ with one SVG per SVG source."""
    root = tmp_path_factory.mktemp("synthdata")
    people, designs = root / "people", root / "designs"
    people.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(people / f"p_{i:04d}.jpg"), _skin_photo(rng, 200 + 20 * i, 260))
    # p_0000 has a label mask: only the left half is skin (the right half is painted blue: clothing)
    img = _skin_photo(rng, 256, 256)
    img[:, 128:] = (160, 60, 30)
    cv2.imwrite(str(people / "p_0000.jpg"), img)
    mask = np.zeros((256, 256), np.uint8)
    mask[:, :128] = 255
    cv2.imwrite(str(people / "p_0000.skin.png"), mask)
    for sub, text in (("game-icons", SVG_FILL), ("lucide", SVG_LINE), ("openmoji/color", SVG_COLOR),
                      ("kanjivg", SVG_LINE), ("omniglot-strokes", SVG_LINE)):
        (designs / sub).mkdir(parents=True)
        (designs / sub / "a.svg").write_text(text)
    _ink_bank(root / "realink")
    return people, designs


def _ink_bank(folder: Path) -> Path:
    """Two real-ink layers: a dark red ring (60 px) and a black bar (30 x 12 px)."""
    folder.mkdir()
    yy, xx = np.mgrid[:60, :60]
    ring = (np.abs(np.hypot(yy - 30, xx - 30) - 20) < 5).astype(np.float32)
    write_layer(folder / "ring_0.png", ring, np.broadcast_to(np.array([0.6, 0.1, 0.1], np.float32), (60, 60, 3)))
    write_layer(folder / "bar_0.png", np.ones((12, 30), np.float32), np.full((12, 30, 3), 0.2, np.float32))
    return folder


def _synth(data, **kw) -> Synthesizer:
    people, designs = data
    cfg = SynthConfig(size=kw.pop("size", 64), realink_dir=str(people.parent / "realink"), **kw)
    return Synthesizer(people, designs, cfg)


def test_same_seed_same_sample_and_different_seed_differs(data):
    a, b = _synth(data).sample(7), _synth(data).sample(7)
    assert np.array_equal(a.tattooed, b.tattooed) and np.array_equal(a.clean, b.clean)
    assert np.array_equal(a.ink, b.ink) and a.params == b.params
    c = _synth(data).sample(8)
    assert not np.array_equal(a.clean, c.clean) or not np.array_equal(a.ink, c.ink)


def test_pair_differs_only_where_ink(data):
    synth = _synth(data, p_clean=0.0, p_jpeg=1.0, noise_sigma=(2.0, 4.0))
    inked = 0
    for seed in range(25):
        s = synth.sample(seed)
        assert s.tattooed.shape == s.clean.shape == (64, 64, 3) and s.ink.shape == (64, 64)
        assert s.tattooed.dtype == s.clean.dtype == s.ink.dtype == np.uint8
        differs = (s.tattooed != s.clean).any(-1)
        assert not (differs & (s.ink == 0)).any(), f"seed {seed}: pair differs where ink == 0"
        inked += int(s.ink.max() > 100)
    assert inked >= 20, "most samples should carry visible ink"


def test_ink_only_on_skin_when_mask_exists(data):
    people, designs = data
    photo = people / "p_0000.jpg"
    synth = Synthesizer(people, designs, SynthConfig(size=64, p_clean=0.0, zoom=(1.0, 1.0)), photos=[photo])
    inked = 0
    for seed in range(15):
        s = synth.sample(seed)
        assert s.params["skin_mask"] == "label"
        # square photo at zoom 1: the crop is the whole photo, the skin is the left (or flipped right) half
        assert s.params["crop"][:2] == [0, 0] and s.params["upscale"] == 1.0
        off_skin = s.ink[:, :32] if s.params["flip"] else s.ink[:, 32:]
        on_skin = s.ink[:, 32:] if s.params["flip"] else s.ink[:, :32]
        assert off_skin.max() == 0, f"seed {seed}: ink off the skin mask"
        inked += int(on_skin.max() > 100)
    assert inked >= 10


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_makes_a_non_empty_design(data, source):
    synth = _synth(data)
    for seed in range(3):
        d = synth.sampler.draw(np.random.default_rng(seed), source, 96)
        assert d.alpha.dtype == np.float32 and d.alpha.ndim == 2
        assert d.alpha.max() > 0.5 and (d.alpha > 0.1).mean() > 0.005, f"{source} seed {seed} is empty"
        assert 0.0 <= d.alpha.min() and d.alpha.max() <= 1.0


def test_prerasterised_png_designs_work_like_svgs(tmp_path, data):
    from skindeep.synth.svg import rasterise_designs

    people, designs = data
    assert rasterise_designs(designs, tmp_path / "png", size=64) == 5
    synth = Synthesizer(people, tmp_path / "png", SynthConfig(size=64))
    assert all(p.suffix == ".png" for p in synth.designs)
    for source in ("icons", "color", "kanji", "omniglot"):
        d = synth.sampler.draw(np.random.default_rng(0), source, 96)
        assert (d.alpha > 0.1).mean() > 0.005, source
    assert synth.sampler.draw(np.random.default_rng(0), "color", 96).colour[..., 0].max() > 0.5  # red kept


def test_real_design_sources_non_empty(shared_data, tmp_path):
    every = {source: 1.0 for source in SOURCES}
    synth = Synthesizer(shared_data / "people", shared_data / "designs",
                        SynthConfig(size=64, source_weights=every, realink_dir=str(_ink_bank(tmp_path / "ink"))))
    assert set(synth.sampler.available) == set(SOURCES)
    for source in SOURCES:
        d = synth.sampler.draw(np.random.default_rng(1), source, 128)
        assert (d.alpha > 0.1).mean() > 0.002, source


def test_skin_detector_finds_skin_not_clothes():
    from skindeep.synth.skin import detect_skin

    img = _skin_photo(np.random.default_rng(3), 80, 80)[..., ::-1].copy()  # RGB skin tone
    img[:, 40:] = (40, 70, 150)  # blue clothing
    img[10:14, 10:30] = (60, 40, 30)  # an eyebrow-dark stroke on the skin
    mask = detect_skin(img)
    assert (mask[:, 4:36] > 0).mean() > 0.8 and (mask[:, 44:] > 0).mean() == 0
    assert (mask[11:13, 12:28] > 0).mean() == 0, "dark features are not skin (no ink goes there)"


def test_p_clean_gives_zero_ink(data):
    synth = _synth(data, p_clean=1.0)
    for seed in range(5):
        s = synth.sample(seed)
        assert s.ink.max() == 0 and np.array_equal(s.tattooed, s.clean) and s.params["clean"]


def test_hard_negatives_stay_out_of_ink(data):
    people, designs = data
    synth = Synthesizer(people, designs, SynthConfig(size=64, p_hard_negative=1.0, p_clean=1.0),
                        photos=[people / "p_0000.jpg"])
    s = synth.sample(3)
    assert "hard_negatives" in s.params and s.ink.max() == 0


def test_bad_inputs_name_the_path(tmp_path, data):
    people, designs = data
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=str(empty)):
        Synthesizer(empty, designs)
    with pytest.raises(InputError, match=str(tmp_path / "nope")):
        Synthesizer(tmp_path / "nope", designs)
    with pytest.raises(InputError, match=str(tmp_path / "nodesigns")):
        Synthesizer(people, tmp_path / "nodesigns")
    # one unreadable photo in a batch: skipped with a warning naming it
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "bad.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(mixed / "good.jpg"), _skin_photo(np.random.default_rng(1), 100, 100))
    synth = Synthesizer(mixed, designs, SynthConfig(size=64))
    with pytest.warns(UserWarning, match="bad.jpg"):
        for seed in range(12):
            assert synth.sample(seed).params["photo"] == "good.jpg"
    # no usable photo at all: an error naming the folder
    allbad = tmp_path / "allbad"
    allbad.mkdir()
    (allbad / "bad.jpg").write_bytes(b"junk")
    with pytest.raises(InputError, match=str(allbad)), pytest.warns(UserWarning):
        Synthesizer(allbad, designs, SynthConfig(size=64)).sample(0)


def test_split_is_deterministic_and_disjoint(data):
    people, designs = data
    tr, va = split_photos(people, val_fraction=0.34)
    assert len(va) == 1 and not set(tr) & set(va) and split_photos(people, val_fraction=0.34) == (tr, va)
    dtr, dva = split_designs(designs, val_fraction=0.2)
    assert len(dva) == 1 and len(dtr) == 4


def test_write_and_read_back(tmp_path, data):
    s = _synth(data).sample(2, name="x")
    write_sample(s, tmp_path)
    assert read_sample_dir(tmp_path) == ["x"]
    back = load_sample(tmp_path, "x")
    assert np.array_equal(back.tattooed, s.tattooed) and np.array_equal(back.ink, s.ink)
    assert back.params == s.params


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_writes_four_files_per_sample_byte_identical(tmp_path, data):
    from skindeep.cli.synth import command

    people, designs = data
    args = ["--people", str(people), "--designs", str(designs), "-n", "5", "--seed", "3", "--size", "64"]
    runner = CliRunner()
    r1 = runner.invoke(command, args + ["--out", str(tmp_path / "a"), "--preview"])
    assert r1.exit_code == 0, r1.output
    names = read_sample_dir(tmp_path / "a")
    assert names == [f"{i:06d}" for i in range(5)]
    for n in names:
        for suffix in (".tattooed.png", ".clean.png", ".ink.png", ".json"):
            assert (tmp_path / "a" / f"{n}{suffix}").stat().st_size > 0
    assert (tmp_path / "a" / "preview.png").exists()
    r2 = runner.invoke(command, args + ["--out", str(tmp_path / "b"), "--workers", "2"])
    assert r2.exit_code == 0, r2.output
    a = _digest(tmp_path / "a")
    a.pop("preview.png")
    assert a == _digest(tmp_path / "b")


def test_cli_error_names_missing_folder(tmp_path, data):
    from skindeep.cli.synth import command

    _, designs = data
    r = CliRunner().invoke(command, ["--people", str(tmp_path / "missing"), "--designs", str(designs),
                                     "--out", str(tmp_path / "o"), "-n", "1"])
    assert r.exit_code != 0 and str(tmp_path / "missing") in r.output


def test_cli_real_v8_needs_and_takes_a_folder_of_real_ink_layers(tmp_path, data):
    from skindeep.cli.synth import command

    people, designs = data
    args = ["--people", str(people), "--designs", str(designs), "--preset", "real-v8", "-n", "2", "--size", "64"]
    r = CliRunner().invoke(command, args + ["--out", str(tmp_path / "a")])
    assert r.exit_code == 1 and "real ink layers" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(command, args + ["--out", str(tmp_path / "b"), "--realink", str(people.parent / "realink")])
    assert r.exit_code == 0, r.output
    assert len(read_sample_dir(tmp_path / "b")) == 2


def test_real_preset_inks_more_of_the_skin_with_shaded_sources(data):
    """The "real" preset (large shaded pieces, few icons) covers clearly more of the frame than the
    default over the same seeds, keeps the default untouched, and rejects unknown names."""
    people, designs = data
    assert SynthConfig.preset("default") == SynthConfig()
    assert SynthConfig.preset("real", size=96).size == 96
    v3, v4 = SynthConfig.preset("real-v3"), SynthConfig.preset("real-v4")
    assert (v4.p_hard_negative, v4.p_clean) == (0.7, 0.2) and v4.source_weights == v3.source_weights
    with pytest.raises(ValueError, match="unknown SynthConfig preset 'nope'"):
        SynthConfig.preset("nope")
    coverage = {}
    for name in ("default", "real"):
        synth = Synthesizer(people, designs, SynthConfig.preset(name, size=64, p_clean=0.0))
        coverage[name] = np.mean([(synth.sample(seed).ink > 20).mean() for seed in range(8)])
    assert coverage["real"] > 1.2 * coverage["default"], coverage
    weights = SynthConfig.preset("real").source_weights
    shaded = sum(weights[k] for k in ("realism", "blackwork", "hatching", "dotwork")) / sum(weights.values())
    assert shaded > 0.5 and weights["icons"] < SynthConfig().source_weights["icons"]


def test_scene_hard_negatives_are_in_both_images_and_never_ink(data):
    """Darker skin, cast shadows and moles change the clean photo itself: a clean sample with them
    differs from the photo without them, yet tattooed == clean and ink == 0."""
    on = _synth(data, p_clean=1.0, p_darker_skin=1.0, p_cast_shadow=1.0, p_skin_marks=1.0)
    off = _synth(data, p_clean=1.0)
    for seed in range(4):
        a, b = on.sample(seed), off.sample(seed)
        assert a.ink.max() == 0 and np.array_equal(a.tattooed, a.clean)
        kinds = {note["kind"] for note in a.params["scene"]}
        assert kinds == {"darker_skin", "cast_shadow", "skin_marks"}
        assert "scene" not in b.params
    # the scene darkens on average (skin re-toned, shadow): the same photo crop, lower luma
    a, b = on.sample(11), off.sample(11)
    assert a.params["photo"] == b.params["photo"]
    assert a.clean.astype(float).mean() < b.clean.astype(float).mean() - 3


def test_darker_skin_only_touches_skin():
    from skindeep.synth.scene import darker_skin

    rgb = np.full((64, 64, 3), 0.7, np.float32)
    skin = np.zeros((64, 64), np.float32)
    skin[:, :32] = 1
    out, note = darker_skin(np.random.default_rng(0), rgb, skin)
    assert note["amount"] >= 0.3
    assert np.allclose(out[:, 40:], 0.7)  # far from the skin: untouched
    assert (out[:, :24] < 0.7 * 0.95).all()  # skin: darker in every channel
    assert out[:, :24, 2].mean() < out[:, :24, 0].mean()  # and warmer (blue drops most)


def test_real_v2_preset_draws_colour_realism_and_brown_ink(data):
    cfg = SynthConfig.preset("real-v2", size=64)
    assert cfg.source_weights["colorrealism"] > 0 and cfg.p_brown_ink > 0 and cfg.p_darker_skin > 0
    assert SynthConfig.preset("default").p_cast_shadow == 0  # the default engine is unchanged
    from skindeep.synth.photoart import colour_realism

    people, _ = data
    d = colour_realism(np.random.default_rng(2), 96, sorted(people.glob("*.jpg")))
    assert d.colour is not None and d.colour.shape == (96, 96, 3)
    sat = d.colour.max(-1) - d.colour.min(-1)
    assert float(sat[d.alpha > 0.3].mean()) > 0.2  # pigment, not grey
    from skindeep.synth.render import BROWN_INKS, render_ink

    alpha = np.ones((32, 32), np.float32)
    names = {render_ink(np.random.default_rng(s), alpha, None, alpha, 64, brush=False, p_brown=1.0)[2]["ink"]
             for s in range(30)}
    assert names & set(BROWN_INKS)


def test_neotrad_piece_has_a_black_outline_around_shaded_colour(data):
    """Traditional look: the rim of the motif is black ink, the inside is coloured and darker toward the
    rim than at its middle."""
    people, designs = data
    synth = Synthesizer(people, designs, SynthConfig(size=64, source_weights={"neotrad": 1.0}))
    assert synth.sampler.available == ["neotrad"]
    found = 0
    for seed in range(6):
        d = synth.sampler.draw(np.random.default_rng(seed), "neotrad", 128)
        if d.colour is None:  # a motif too small to fill falls back to plain ink
            continue
        found += 1
        solid = (d.alpha > 0.5).astype(np.uint8)
        rim = solid - cv2.erode(solid, np.ones((3, 3), np.uint8))
        assert d.colour[rim > 0].max(-1).mean() < 0.05  # outline: black
        depth = cv2.distanceTransform(solid, cv2.DIST_L2, 5)
        inner = depth > 0.6 * depth.max()
        if inner.sum() > 20:
            band = (depth > 3) & (depth < 0.3 * depth.max())
            assert d.colour[inner].mean() > d.colour[band].mean()  # lighter middle, darker rim
            sat = d.colour.max(-1) - d.colour.min(-1)
            assert float(sat[inner].mean()) > 0.1
    assert found >= 3


def test_dark_garment_crosses_the_skin_and_gets_no_ink(data):
    """Black clothing painted across the skin's edge: dark where it lies, and never inked."""
    synth = _synth(data, p_clean=0.0, p_dark_garment=1.0)
    plain = _synth(data, p_clean=0.0)
    found = 0
    for seed in range(6):
        a = synth.sample(seed)
        notes = [n for n in a.params.get("scene", []) if n["kind"] == "dark_garment"]
        assert len(notes) == 1
        if notes[0]["shape"] == "none":
            continue
        found += 1
        dark = a.clean.mean(-1) < 40
        assert (a.ink[dark & (plain.sample(seed).clean.mean(-1) > 80)] == 0).mean() > 0.95  # no ink on it
    assert found >= 3


def test_textile_print_repeats_a_motif_inside_its_region_only():
    from skindeep.synth.scene import textile_print

    s = 128
    rgb = np.full((s, s, 3), 0.8, np.float32)
    region = np.zeros((s, s), np.float32)
    region[:, 64:] = 1.0  # the garment: the right half
    motif = np.zeros((12, 12), np.float32)
    motif[3:9, 3:9] = 1.0  # a dark square
    out, note = textile_print(np.random.default_rng(0), rgb, region, motif)
    assert note["kind"] == "textile" and note["motif"] == 12
    assert np.array_equal(out[:, :64], rgb[:, :64])  # nothing outside the region
    dark = out[:, 64:].mean(-1) < 0.7
    count, _ = cv2.connectedComponents(dark.astype(np.uint8))
    assert count - 1 >= 8, "an all-over print: many copies of the motif"
    assert 0.1 < dark.mean() < 0.6


def test_textile_hard_negatives_get_no_ink(data):
    synth = _synth(data, size=96, p_clean=1.0, p_hard_negative=1.0, p_textile=1.0)
    kinds = set()
    for seed in range(4):
        a = synth.sample(seed)
        kinds |= {n["kind"] for n in a.params.get("hard_negatives", [])}
        assert a.ink.max() == 0 and np.array_equal(a.tattooed, a.clean)
    assert "textile" in kinds
    # p_textile = 0 draws nothing extra: older presets give the same samples as before
    assert "textile" not in {n["kind"] for seed in range(4)
                             for n in _synth(data, size=96, p_clean=1.0, p_hard_negative=1.0).sample(seed)
                             .params.get("hard_negatives", [])}


def test_textile_print_in_colour_is_saturated():
    from skindeep.synth.scene import textile_print

    rgb = np.full((96, 96, 3), 0.85, np.float32)  # a pale grey fabric
    motif = np.ones((10, 10), np.float32)
    out, note = textile_print(np.random.default_rng(1), rgb, np.ones((96, 96), np.float32), motif, colour=True)
    assert note["colour"] is True
    painted = out[np.abs(out - rgb).max(-1) > 0.1]
    assert len(painted) > 500
    assert float((painted.max(-1) - painted.min(-1)).mean()) > 0.2  # a saturated colour, not grey


def test_real_ink_layer_keeps_its_transmittance_on_the_host_and_labels_only_it(data):
    """A 'realink' piece multiplies the host by exactly the layer's transmittance (no physics drawn), its
    label is the layer's amount, and every pixel off the layer is the clean photo's."""
    synth = _synth(data, p_clean=0.0, source_weights={"realink": 1.0}, p_jpeg=0.0, noise_sigma=(0.0, 0.0),
                   p_hard_negative=0.0, zoom=(1.0, 1.0))
    inked = 0
    for seed in range(8):
        s = synth.sample(seed)
        assert all(t["source"] == "realink" and t["ink"] == "real" for t in s.params["tattoos"])
        assert np.array_equal(s.tattooed[s.ink == 0], s.clean[s.ink == 0])
        full = s.ink == 255
        if full.sum() < 20:
            continue
        inked += 1
        ratio = s.tattooed[full].astype(np.float32) / np.maximum(s.clean[full], 1)
        files = {t["design"]["file"] for t in s.params["tattoos"]}
        if files == {"bar_0.png"}:  # grey 0.2 reflectance: every channel at a fifth of the skin
            assert np.abs(np.median(ratio, axis=0) - 0.2).max() < 0.05, (seed, np.median(ratio, axis=0))
        if files == {"ring_0.png"}:  # red ink: red kept, green and blue cut to a tenth
            med = np.median(ratio, axis=0)
            assert abs(med[0] - 0.6) < 0.08 and med[1] < 0.2 and med[2] < 0.2, (seed, med)
    assert inked >= 4


def test_realink_source_without_a_bank_is_refused(data):
    people, designs = data
    with pytest.raises(InputError, match="real ink layers"):
        Synthesizer(people, designs, SynthConfig(size=64, source_weights={"realink": 1.0}))
