import numpy as np
import onnxruntime as ort


def test_tiny_model_marks_dark_pixels_as_ink_and_blurs(tiny_model_path):
    sess = ort.InferenceSession(str(tiny_model_path), providers=["CPUExecutionProvider"])
    img = np.full((1, 3, 64, 96), 0.8, np.float32)
    img[:, :, 20:30, 40:60] = 0.05
    ink, clean = sess.run(["ink", "clean"], {"image": img})
    assert ink.shape == (1, 1, 64, 96) and clean.shape == (1, 3, 64, 96)
    assert ink[0, 0, 25, 50] > 0.99 and ink[0, 0, 5, 5] < 0.01
    assert 0.05 < clean[0, 0, 25, 50] < 0.8
