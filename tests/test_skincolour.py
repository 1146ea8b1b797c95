"""The shared YCrCb skin box (skindeep.skincolour)."""

import numpy as np

from skindeep.skincolour import ANY_SKIN, CANDIDATE_SKIN, to_ycrcb

# Skin tones from very light to very dark (RGB), and colours that are not skin.
SKIN = [(255, 224, 196), (234, 192, 160), (198, 134, 100), (141, 85, 60), (92, 56, 40)]
NOT_SKIN = [(128, 128, 128), (30, 30, 30), (40, 80, 200), (40, 160, 60), (250, 250, 250), (10, 6, 4)]


def _ycc(colours) -> np.ndarray:
    return to_ycrcb(np.array([colours], np.uint8))[0]


def test_any_skin_passes_every_skin_tone_and_rejects_other_colours():
    assert ANY_SKIN.contains(_ycc(SKIN)).all()
    assert not ANY_SKIN.contains(_ycc(NOT_SKIN)).any()


def test_candidate_box_is_inside_the_broad_box():
    # every YCrCb triple the tighter box accepts, the broad one accepts too
    y, cr, cb = np.meshgrid(np.arange(0, 256, 5), np.arange(256), np.arange(256), indexing="ij")
    ycc = np.stack([y, cr, cb], -1)
    inside = CANDIDATE_SKIN.contains(ycc)
    assert inside.any()
    assert ANY_SKIN.contains(ycc[inside]).all()
    assert ANY_SKIN.contains(ycc).sum() > inside.sum()


def test_bounds_are_inclusive():
    box = CANDIDATE_SKIN
    edge = np.array([[box.y_min, box.cr[0], box.cb[0]], [box.y_min, box.cr[1], box.cb[1]],
                     [box.y_min - 1, box.cr[0], box.cb[0]], [box.y_min, box.cr[1] + 1, box.cb[1]]])
    assert box.contains(edge).tolist() == [True, True, False, False]
