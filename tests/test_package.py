import subprocess
import sys


def test_top_level_remove_works_right_after_plain_import(tiny_model_path):
    code = (
        "import skindeep, numpy as np\n"
        f"r = skindeep.Remover(model_path={str(tiny_model_path)!r}, protect_face=False)\n"
        "img = np.full((64, 96, 3), 220, np.uint8); img[20:40, 30:60] = 10\n"
        "assert isinstance(r.remove(img), skindeep.Result)\n"
        "print(skindeep.remove.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "skindeep.remove"


def test_unknown_attribute_is_an_attribute_error():
    import skindeep

    try:
        skindeep.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
