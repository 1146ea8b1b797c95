"""Synthetic tattoo data engine: (tattooed, clean, ink) pairs from people photos and designs.

    from skindeep.synth import Synthesizer, SynthConfig, split_photos, split_designs, write_sample
    train_photos, val_photos = split_photos(people_dir)        # THE project split (seed 0, 10 %)
    train_designs, val_designs = split_designs(designs_dir)
    synth = Synthesizer(people_dir, designs_dir, SynthConfig(size=256), train_photos, train_designs)
    s = synth.sample(seed=123)   # s.tattooed, s.clean (H,W,3) uint8; s.ink (H,W) uint8; s.params

See docs/synth.md for how it works and what still looks fake.
"""

from skindeep.synth.config import DEFAULT_SOURCE_WEIGHTS, Sample, SynthConfig
from skindeep.synth.designs import SOURCES
from skindeep.synth.engine import Synthesizer, sample_seeds
from skindeep.synth.photos import split_clothes, split_photos, split_real_train
from skindeep.synth.sampleio import load_sample, read_sample_dir, write_sample
from skindeep.synth.svg import rasterise_designs, split_designs

__all__ = [
    "DEFAULT_SOURCE_WEIGHTS", "SOURCES", "Sample", "SynthConfig", "Synthesizer", "load_sample",
    "rasterise_designs", "read_sample_dir", "sample_seeds", "split_clothes", "split_designs", "split_photos", "split_real_train", "write_sample",
]
