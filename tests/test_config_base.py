"""A config that names a ``base`` file states only what it changes (skindeep.model.config)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from skindeep.model.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]

BASE = """
threads = 2
seed = 3
[model]
frozen_encoder_levels = 5
attention = true
[data]
train_dir = "cache/a"
real_batch = 2
[loss]
box_projection = 1.0
box_negative = 0.5
[[stages]]
size = 128
steps = 100
batch = 8
lr = 1e-3
[[stages]]
size = 256
steps = 200
batch = 4
lr = 5e-4
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_base_gives_its_fields_and_the_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    _write(tmp_path, "base.toml", BASE)
    child = _write(tmp_path, "child.toml", 'base = "base.toml"\nseed = 7\n[data]\nreal_batch = 4\n')
    parent, cfg = load_config(tmp_path / "base.toml"), load_config(child)
    assert cfg.seed == 7 and parent.seed == 3
    assert cfg.data.real_batch == 4
    # Fields the child does not name come from the base, in the same table and in the others.
    assert cfg.data.train_dir == "cache/a"
    assert cfg.loss.box_negative == 0.5 and cfg.model.frozen_encoder_levels == 5
    assert [s.size for s in cfg.stages] == [128, 256]


def test_stages_in_a_file_replace_the_base_schedule_whole(tmp_path: Path) -> None:
    _write(tmp_path, "base.toml", BASE)
    child = _write(tmp_path, "child.toml", 'base = "base.toml"\n[[stages]]\nsize = 320\nsteps = 50\nbatch = 2\nlr = 1e-4\n')
    cfg = load_config(child)
    assert [(s.size, s.steps) for s in cfg.stages] == [(320, 50)]


def test_a_base_can_have_a_base_and_paths_are_relative_to_each_file(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    _write(tmp_path, "base.toml", BASE)
    _write(tmp_path / "deep", "mid.toml", 'base = "../base.toml"\n[loss]\nbox_projection = 2.0\n')
    child = _write(tmp_path / "deep", "child.toml", 'base = "mid.toml"\n[model]\nattention = false\n')
    cfg = load_config(child)
    assert cfg.loss.box_projection == 2.0 and cfg.loss.box_negative == 0.5
    assert cfg.model.attention is False and cfg.seed == 3


def test_a_missing_base_names_the_file_that_asked_for_it(tmp_path: Path) -> None:
    child = _write(tmp_path, "child.toml", 'base = "nowhere.toml"\nseed = 1\n')
    with pytest.raises(ConfigError, match=r"child\.toml.*nowhere\.toml not found"):
        load_config(child)


def test_a_cycle_of_bases_is_an_error_not_a_hang(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", 'base = "b.toml"\nseed = 1\n')
    _write(tmp_path, "b.toml", 'base = "a.toml"\nseed = 2\n')
    with pytest.raises(ConfigError, match="base files include it again"):
        load_config(tmp_path / "a.toml")


def test_base_must_be_a_file_name(tmp_path: Path) -> None:
    child = _write(tmp_path, "child.toml", "base = 3\n")
    with pytest.raises(ConfigError, match=r"child\.toml: base must be a file name"):
        load_config(child)


def test_an_unknown_field_in_a_child_is_still_refused(tmp_path: Path) -> None:
    _write(tmp_path, "base.toml", BASE)
    child = _write(tmp_path, "child.toml", 'base = "base.toml"\n[loss]\nbox_projektion = 2.0\n')
    with pytest.raises(ConfigError, match="box_projektion"):
        load_config(child)


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.stages and asdict(cfg)["data"]["val_dir"]
