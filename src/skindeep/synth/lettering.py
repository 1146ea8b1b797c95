"""Lettering designs rendered from installed fonts (script, blackletter, handwriting, kanji).

Fonts are found under /usr/share/fonts (Debian fonts-* packages, see ../shared/data/designs/FONTS.md).
Without any, Pillow's built-in default font is used and ``params['font'] == 'pillow-default'`` says so.
``SKINDEEP_FONT_DIRS`` (folders separated by ``:``) adds folders to search: the GPU machine has no Debian
fonts, so the device pack carries them (``skindeep.model.devicepack``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from skindeep.synth.design import Design

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Plain UI fonts look nothing like tattoo lettering: skip them when others exist.
_PLAIN = ("dejavu", "liberation", "noto", "droid", "freefont")
_CJK_HINTS = ("kouzan", "cjk", "kanji", "japan", "mincho", "gothic-jp", "takao", "ipa")

WORDS = [
    "Mom", "Dad", "Love", "Hope", "Faith", "Family", "Forever", "Believe", "Freedom", "Courage",
    "Strength", "Carpe Diem", "Memento Mori", "Amor Fati", "Never Give Up", "Live Laugh Love",
    "Only God Can Judge Me", "Blessed", "Loyalty", "Honor", "Respect", "Wanderlust", "Serenity",
    "Veritas", "Fearless", "Stay Strong", "This Too Shall Pass", "Breathe", "Let It Be", "Warrior",
    "Mi Vida", "Familia", "Semper Fi", "Still I Rise", "Born Free", "Rebel", "Karma", "Dream",
]
NAMES = ["Anna", "Maria", "Jose", "Lucas", "Emma", "Sofia", "Noah", "Liam", "Mia", "Leo", "Isabella",
         "Chloe", "Diego", "Elena", "Marco", "Yuki", "Aiko", "Omar", "Layla", "Jack", "Rosa", "Ivan"]
KANJI = "愛力夢心和美命光風水火山月星花龍虎侍忍武道魂信勇誠"


def roman(n: int) -> str:
    vals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
            (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for v, s in vals:
        while n >= v:
            out += s
            n -= v
    return out


@functools.lru_cache(maxsize=1)
def find_fonts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(latin_fonts, cjk_fonts): sorted .ttf/.otf paths found on this machine (cached)."""
    extra = tuple(Path(d) for d in os.environ.get("SKINDEEP_FONT_DIRS", "").split(":") if d)
    files = sorted(str(p) for d in FONT_DIRS + extra if d.is_dir() for p in d.rglob("*")
                   if p.suffix.lower() in (".ttf", ".otf"))
    cjk = tuple(f for f in files if any(h in f.lower() for h in _CJK_HINTS))
    latin = [f for f in files if f not in cjk]
    fancy = [f for f in latin if not any(p in f.lower() for p in _PLAIN)]
    return tuple(fancy or latin), cjk


def _text(rng: np.random.Generator) -> tuple[str, str]:
    kind = str(rng.choice(["word", "name", "date", "roman", "kanji"], p=[0.45, 0.2, 0.15, 0.12, 0.08]))
    if kind == "word":
        return kind, str(rng.choice(WORDS))
    if kind == "name":
        return kind, str(rng.choice(NAMES))
    if kind == "date":
        d, m, y = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1950, 2025))
        fmt = int(rng.integers(3))
        return kind, [f"{d:02d}.{m:02d}.{y}", f"{m}/{d}/{y % 100:02d}", str(y)][fmt]
    if kind == "roman":
        d, m, y = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1950, 2025))
        return kind, f"{roman(d)}.{roman(m)}.{roman(y)}" if rng.random() < 0.6 else roman(y)
    n = int(rng.integers(1, 4))
    return kind, "".join(rng.choice(list(KANJI), n))


@functools.lru_cache(maxsize=64)
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


def lettering(rng: np.random.Generator, size: int) -> Design:
    """Text centred on a (size, size) canvas, one or two lines, in a random installed font."""
    kind, text = _text(rng)
    latin, cjk = find_fonts()
    pool = cjk if kind == "kanji" and cjk else latin
    if kind == "kanji" and not cjk:
        kind, text = "word", str(rng.choice(WORDS))
    vertical = kind == "kanji" and rng.random() < 0.6
    if vertical:
        text = "\n".join(text)
    elif " " in text and rng.random() < 0.4:
        words = text.split(" ")
        cut = len(words) // 2
        text = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
    img = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(img)
    if pool:
        font_path = str(rng.choice(list(pool)))
        font = _font(font_path, max(8, size // 3))
        font_name = Path(font_path).name
    else:
        font = ImageFont.load_default()
        font_name = "pillow-default"
    draw.multiline_text((size // 8, size // 8), text, fill=255, font=font, align="center", spacing=size // 30)
    arr = np.asarray(img)
    ys, xs = np.nonzero(arr)
    out = np.zeros((size, size), np.float32)
    if len(ys):
        crop = arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        f = 0.95 * size / max(crop.shape)
        h, w = max(1, int(crop.shape[0] * f)), max(1, int(crop.shape[1] * f))
        crop = np.asarray(Image.fromarray(crop).resize((w, h), Image.LANCZOS))
        y, x = (size - h) // 2, (size - w) // 2
        out[y : y + h, x : x + w] = crop.astype(np.float32) / 255.0
    return Design(out, None, dict(generator="lettering", text=text, kind=kind, font=font_name))
