"""Self-training on real ink: the pseudo-labels, their dataset, their loss and the real-crop feed."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skindeep.errors import InputError  # noqa: E402
from skindeep.model.config import TrainConfig  # noqa: E402
from skindeep.model.data import RealPseudoDataset, TeacherDataset  # noqa: E402
from skindeep.model.losses import distil_loss, pseudo_loss  # noqa: E402
from skindeep.model.pseudo import colour_label, pseudo_label  # noqa: E402
from skindeep.model.train import real_batches, real_terms  # noqa: E402


def two_blobs() -> np.ndarray:
    """(60, 100) probabilities: a blob with a confident core (left) and a blob that never reaches it."""
    prob = np.zeros((60, 100), np.float32)
    prob[10:50, 5:45] = 0.7  # unsure ink around ...
    prob[25:35, 20:30] = 0.99  # ... a confident core
    prob[10:50, 60:95] = 0.9  # unsure everywhere: no seed
    return prob


def test_pseudo_label_grows_confident_ink_and_drops_unseeded_blobs():
    label = pseudo_label(two_blobs(), threshold=0.98, grow=0.6)
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 255}
    assert (label[10:50, 5:45] == 255).all()  # the whole connected blob, grown from its core
    assert (label[:, 50:] == 0).all()  # the blob the detector is never sure of gets no label
    assert (pseudo_label(two_blobs(), threshold=0.98, grow=0.8)[10:50, 5:45] == 255).sum() == 100  # core only


def test_pseudo_label_stays_inside_the_boxes_of_a_boxed_photo():
    label = pseudo_label(two_blobs(), threshold=0.98, grow=0.6, boxes=[[15, 20, 35, 40]])  # grown by 2 px
    ys, xs = np.nonzero(label)
    assert xs.min() == 13 and xs.max() == 36 and ys.min() == 18 and ys.max() == 41
    assert not pseudo_label(two_blobs(), 0.98, 0.6, boxes=[[60, 10, 95, 50]]).any()  # a box on the unseeded blob
    with pytest.raises(ValueError):
        pseudo_label(two_blobs(), threshold=0.5, grow=0.6)


def test_colour_label_finds_faded_colour_ink_on_shaded_skin_inside_the_box_only():
    """A shaded arm (a brightness ramp the detector would not call ink) with a faded teal piece inside a box and
    a second teal blob outside every box, beside a beige wall that is not skin: the label is the boxed piece."""
    h, w = 120, 200
    ramp = np.linspace(0.8, 1.1, w, dtype=np.float32)[None, :, None]
    rgb = np.clip(np.float32([190, 140, 115]) * ramp, 0, 255).repeat(h, 0)
    rgb[30:70, 60:100] = (120, 150, 140)  # faded teal ink
    rgb[30:70, 150:180] = (120, 150, 140)  # the same ink, outside every box
    skin = np.ones((h, w), np.float32)
    skin[:, :20] = 0.0  # the wall at the left: not skin
    rgb[:, :20] = (60, 60, 200)
    label = colour_label(np.clip(rgb, 0, 255).astype(np.uint8), skin, [[15, 20, 110, 80]]) > 0
    piece = np.zeros((h, w), bool)
    piece[30:70, 60:100] = True
    assert label[piece].mean() > 0.95  # the piece, whatever the shading
    assert not label[~piece].any()  # not the shaded skin, the wall or the blob outside the box
    assert not colour_label(np.clip(rgb, 0, 255).astype(np.uint8), np.zeros((h, w), np.float32),
                            [[15, 20, 110, 80]]).any()  # nothing where the skin network sees no skin


def test_colour_label_does_not_take_bare_skin_lit_or_shaded_unlike_the_ring_for_ink():
    """Experiment 31. Inside a loose box, bare skin in a soft shadow and under a highlight that the ring around
    the box never sees is not ink; a grey-black line across the shadow is."""
    h, w = 160, 220
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shadow = 1.0 - 0.35 * np.exp(-(((xx - 90) / 28) ** 2 + ((yy - 80) / 28) ** 2))
    light = 1.0 + 0.3 * np.exp(-(((xx - 150) / 12) ** 2 + ((yy - 80) / 12) ** 2))
    rgb = np.float32([200, 150, 125]) * (shadow * light)[..., None]
    rgb[76:84, 60:120] = (70, 70, 75)  # the ink line
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    label = colour_label(rgb, np.ones((h, w), np.float32), [[40, 30, 180, 130]]) > 0
    line = np.zeros((h, w), bool)
    line[76:84, 60:120] = True
    assert label[line].mean() > 0.75  # the blurred rim of the line may go to the shadow
    assert label[~line].mean() < 0.002  # neither the shadow nor the highlight


@pytest.fixture()
def labelled(tmp_path):
    """A grey photo with a red square, its pseudo-label on the square, and a second photo with no label."""
    img = np.full((90, 140, 3), 128, np.uint8)
    img[30:60, 80:110] = (0, 0, 255)  # BGR red
    cv2.imwrite(str(tmp_path / "artist_0001.png"), img)
    cv2.imwrite(str(tmp_path / "artist_0002.png"), img)
    labels = tmp_path / "pseudo"
    labels.mkdir()
    label = np.zeros((90, 140), np.uint8)
    label[30:60, 80:110] = 255
    cv2.imwrite(str(labels / "artist_0001.png"), label)
    return tmp_path


def test_pseudo_dataset_label_follows_the_crop_and_the_flip(labelled):
    ds = RealPseudoDataset(sorted(labelled.glob("*.png")), labelled / "pseudo", 48, length=12, blur=0)
    assert [p.name for p, _ in ds.items] == ["artist_0001.png"]  # the photo with no label is left out
    for i in range(len(ds)):
        item = ds[i]
        img, ink = item["image"], item["ink"]
        assert img.shape == (3, 48, 48) and ink.shape == (1, 48, 48)
        assert ink.sum() > 0  # crops are centred near labelled ink
        red = (img[0] > 0.9) & (img[1] < 0.1)
        inner = torch.from_numpy(cv2.erode(ink[0].numpy(), np.ones((3, 3), np.uint8))) > 0
        assert bool(red[inner].all())  # labels stay on the red square, flipped with the image
        assert float(ink[0][~red].mean() if (~red).any() else 0) < 0.2


def test_pseudo_dataset_refuses_a_folder_without_labels(labelled, tmp_path):
    with pytest.raises(InputError, match="no pseudo-labels"):
        RealPseudoDataset(sorted(labelled.glob("*.png")), tmp_path / "nothing", 48)


def test_pseudo_loss_pushes_labelled_pixels_only():
    ink = torch.zeros(1, 1, 8, 8)
    ink[..., :4] = 1
    logits = torch.zeros(1, 1, 8, 8, requires_grad=True)
    loss = pseudo_loss(logits, ink)
    assert float(loss.detach()) == pytest.approx(np.log(2), abs=1e-5)
    loss.backward()
    assert (logits.grad[..., :4] < 0).all()  # a step lowers the loss by raising p on the labels
    assert (logits.grad[..., 4:] == 0).all()  # unlabelled pixels are not taught "skin"
    sure = torch.where(ink > 0, 8.0, -8.0)
    assert float(pseudo_loss(sure, ink)) < 1e-3


def test_real_batches_feed_boxes_and_pseudo_labels_together(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    img = np.full((80, 80, 3), 150, np.uint8)
    for name, boxes in (("insta_0001", [[10, 10, 50, 50]]), ("artist_0001", [])):
        cv2.imwrite(str(real / f"{name}.jpg"), img)
        (real / f"{name}.json").write_text(json.dumps({"boxes": boxes}))
    (tmp_path / "pl").mkdir()
    label = np.zeros((80, 80), np.uint8)
    label[20:40, 20:40] = 255
    cv2.imwrite(str(tmp_path / "pl" / "artist_0001.png"), label)
    cfg = TrainConfig()
    cfg.data.real_dir, cfg.data.synth_split, cfg.data.workers = str(real), "all", 0
    cfg.data.real_batch, cfg.data.pseudo_batch, cfg.data.pseudo_dir = 3, 2, str(tmp_path / "pl")
    assert real_batches(cfg, 32, 0) is None  # every real loss off
    cfg.loss.pseudo = 1.0
    batch = next(real_batches(cfg, 32, 0))
    assert set(batch) == {"pl_image", "pl_ink"} and batch["pl_image"].shape == (2, 3, 32, 32)
    cfg.loss.box_projection = 1.0
    batch = next(real_batches(cfg, 32, 0))
    assert batch["image"].shape == (3, 3, 32, 32) and batch["pl_ink"].shape == (2, 1, 32, 32)


def test_pseudo_dataset_grades_the_image_but_not_the_label(labelled):
    photos = sorted(labelled.glob("*.png"))
    plain = RealPseudoDataset(photos, labelled / "pseudo", 48, length=6, blur=0)
    graded = RealPseudoDataset(photos, labelled / "pseudo", 48, length=6, blur=0, grade=1.0)
    changed = 0
    for i in range(6):
        a, b = plain[i], graded[i]
        assert torch.equal(a["ink"], b["ink"])  # the same crop and flip: the grade draws after them
        changed += int((a["image"] - b["image"]).abs().max() > 0.02)
    assert changed >= 5


def test_a_fine_tune_keeps_the_skin_part_of_the_checkpoint_it_starts_from(tmp_path):
    """A run that started from the shipped ONNX has the ONNX's skin network; a second run started from its
    checkpoint must build that network too, not the skin head its config names (load_state_dict failed)."""
    from dataclasses import asdict

    from skindeep.model.checkpoint import read_start, save_checkpoint
    from skindeep.model.train import _with_start_skin

    def with_start(cfg, path):
        start_cfg, weights = read_start(path, cfg.model)
        assert weights == {}  # the checkpoint's own weights, read in the same pass
        return _with_start_skin(cfg, start_cfg, path, log=lambda _m: None)

    first = TrainConfig()
    first.model.skin_head, first.model.skin_net = False, True
    save_checkpoint(tmp_path / "last.pt", {"model": {}, "config": asdict(first)})
    cfg = TrainConfig()
    cfg.model.skin_head = True
    got = with_start(cfg, tmp_path / "last.pt")
    assert (got.model.skin_head, got.model.skin_net) == (False, True)
    assert got.model.decoder_channels == cfg.model.decoder_channels  # only the skin part changes
    save_checkpoint(tmp_path / "old.pt", {"model": {}, "config": {"model": {}}})  # from before skin parts
    assert with_start(cfg, tmp_path / "old.pt") is cfg


@pytest.fixture()
def taught(tmp_path):
    """A grey photo with a red square, and a teacher map of p = 0.8 on the square (``teacher.json`` format)."""
    img = np.full((90, 140, 3), 128, np.uint8)
    img[30:60, 80:110] = (0, 0, 255)  # BGR red
    cv2.imwrite(str(tmp_path / "clean_0001.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 100])
    teacher = np.zeros((90, 140), np.uint8)
    teacher[30:60, 80:110] = 204
    (tmp_path / "maps").mkdir()
    cv2.imwrite(str(tmp_path / "maps" / "00001.png"), teacher)
    (tmp_path / "maps" / "teacher.json").write_text(json.dumps({"photos": [[str(tmp_path / "clean_0001.jpg"),
                                                                           "00001.png"]]}))
    return tmp_path


def test_teacher_dataset_target_follows_the_crop_and_the_flip(taught):
    ds = TeacherDataset(taught / "maps", 48, length=16, blur=0)
    seen_square = 0
    for i in range(len(ds)):
        item = ds[i]
        img, teacher = item["image"], item["teacher"]
        assert img.shape == (3, 48, 48) and teacher.shape == (1, 48, 48)
        red = (img[0] > 0.8) & (img[1] < 0.2)
        inner = torch.from_numpy(cv2.erode(red.numpy().astype(np.uint8), np.ones((3, 3), np.uint8))) > 0
        assert torch.allclose(teacher[0][inner], torch.tensor(0.8), atol=0.01)  # the teacher's p, not a hard 1
        outer = ~torch.from_numpy(cv2.dilate(red.numpy().astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
        assert float(teacher[0][outer].max() if outer.any() else 0) == 0.0  # flipped with the image
        seen_square += bool(inner.any())
    assert 0 < seen_square  # crops land anywhere in the photo, the square among them


def test_teacher_dataset_names_a_missing_index_or_map(taught, tmp_path):
    with pytest.raises(InputError, match="teacher.json"):
        TeacherDataset(tmp_path / "nothing", 48)
    (taught / "maps" / "00001.png").unlink()
    with pytest.raises(InputError, match="00001.png"):
        TeacherDataset(taught / "maps", 48)[0]


def test_distil_loss_pulls_every_pixel_toward_the_teacher():
    teacher = torch.zeros(1, 1, 8, 8)
    teacher[..., :4] = 0.9
    logits = torch.zeros(1, 1, 8, 8, requires_grad=True)
    distil_loss(logits, teacher).backward()
    assert (logits.grad[..., :4] < 0).all()  # raise p toward 0.9
    assert (logits.grad[..., 4:] > 0).all()  # lower p on clean pixels: unlike pseudo_loss, they are taught
    matched = torch.logit(teacher.clamp(1e-4, 1 - 1e-4)).requires_grad_(True)
    distil_loss(matched, teacher).backward()
    assert float(matched.grad.abs().max()) < 1e-5  # the teacher's own output is the optimum


def test_real_terms_scores_the_teacher_crops_apart_from_the_pseudo_crops(taught, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    img = np.full((80, 80, 3), 150, np.uint8)
    cv2.imwrite(str(real / "artist_0001.jpg"), img)
    (real / "artist_0001.json").write_text(json.dumps({"boxes": []}))
    (tmp_path / "pl").mkdir()
    cv2.imwrite(str(tmp_path / "pl" / "artist_0001.png"), np.full((80, 80), 255, np.uint8))
    cfg = TrainConfig()
    cfg.data.real_dir, cfg.data.synth_split, cfg.data.workers = str(real), "all", 0
    cfg.data.pseudo_dir, cfg.data.teacher_dir, cfg.data.teacher_batch = str(tmp_path / "pl"), str(taught / "maps"), 3
    cfg.loss.pseudo, cfg.loss.distil = 1.0, 2.0
    batch = next(real_batches(cfg, 32, 0))
    assert batch["dt_image"].shape == (3, 3, 32, 32) and batch["dt_teacher"].shape == (3, 1, 32, 32)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 1, 1)

    def net(x):
        return (conv(x),)

    total, parts = real_terms(net, cfg, batch)
    with torch.no_grad():
        want_dt = distil_loss(conv(batch["dt_image"]), batch["dt_teacher"])
        want_pl = pseudo_loss(conv(batch["pl_image"]), batch["pl_ink"])
    assert parts["distil"] == pytest.approx(float(want_dt), rel=1e-5)
    assert parts["pseudo"] == pytest.approx(float(want_pl), rel=1e-5)
    assert float(total.detach()) == pytest.approx(float(want_pl) + 2.0 * float(want_dt), rel=1e-5)


def test_teacher_maps_write_the_detectors_probability_at_the_photos_size(tmp_path):
    from skindeep.model.pseudo import teacher_maps

    photo = tmp_path / "people_0001.jpg"
    img = np.full((120, 90, 3), (120, 150, 200), np.uint8)  # BGR: a skin tone
    img[40:80, 20:70] = (40, 40, 40)  # a dark block
    cv2.imwrite(str(photo), img)
    teacher_maps([photo], tmp_path / "maps", None, log=lambda *_: None)
    index = json.loads((tmp_path / "maps" / "teacher.json").read_text())
    assert index["photos"] == [[str(photo), "00001.png"]]
    written = cv2.imread(str(tmp_path / "maps" / "00001.png"), cv2.IMREAD_GRAYSCALE)
    assert written.shape == (120, 90)
    from skindeep.remove import Remover

    prob = Remover().detect_with_skin(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB))[0]
    assert np.abs(written.astype(np.float32) - prob * 255).max() <= 0.5 + 1e-3  # p * 255, rounded
