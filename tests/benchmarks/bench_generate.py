"""Benchmark: utils.data.lines.generate_lines (+ optional PNG writing) vs a paper-style PIL generator.

Run (from the repository root):  .venv/bin/python tests/benchmarks/bench_generate.py [--n 2000] [--size 224]

Prints ms per image for
  * generate_lines alone (numpy slicing into one preallocated uint8 array),
  * generate_lines + save_dataset with PNGs (the full on-disk dataset),
  * a baseline written here in the paper's style: one PIL image per picture, lines drawn with
    ImageDraw, rejection of close lines with up to 50 tries, a PNG written per image,
and the ratios to that baseline measured in the same run and to the paper's figure of
~0.7 ms per image (REFERENCE.md, PIL drawing + PNG write, 224^2).
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from utils.data.lines import generate_lines
from utils.data.store import save_dataset

PAPER_MS_PER_IMAGE = 0.7  # REFERENCE.md: PIL drawing + PNG write of one 224^2 lines image


def paper_style_image(rng: random.Random, size: int) -> tuple[Image.Image, int]:
    """One image drawn like the paper's generator (rejection of lines closer than 10 px)."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    vertical = rng.random() < 0.5
    placed: list[tuple[int, int, int]] = []  # (centre across, start along, end along)
    for _ in range(rng.randint(1, 5)):
        for _try in range(50):
            length, thick = rng.randint(size // 2, size - 1), rng.randint(5, 9)
            along, across = rng.randint(0, size - length), rng.randint(0, size - thick)
            centre = across + thick / 2
            if all(abs(centre - c) >= 10 or along + length <= a or b <= along for c, a, b in placed):
                placed.append((centre, along, along + length))
                box = ((across, along, across + thick - 1, along + length - 1) if vertical
                       else (along, across, along + length - 1, across + thick - 1))
                draw.rectangle(box, fill=0)
                break
    return image, len(placed)


def time_it(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images per timing")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels")
    args = parser.parse_args()
    n, size = args.n, args.size
    tmp = Path(tempfile.mkdtemp(prefix="bench_generate_"))
    try:
        t_gen = time_it(lambda: generate_lines(n, size=size, seed=0))
        images, labels = generate_lines(n, size=size, seed=0)

        def generate_and_save() -> None:
            im, lab = generate_lines(n, size=size, seed=0)
            save_dataset(tmp / "ours", im, lab, write_png=True, overwrite=True)

        t_png = time_it(generate_and_save)

        def baseline() -> None:
            rng = random.Random(0)
            out = tmp / "paper"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            for i in range(n):
                paper_style_image(rng, size)[0].save(out / f"{i:06d}.png")

        t_base = time_it(baseline, repeats=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [("generate_lines (array only)", t_gen), ("generate_lines + save_dataset (PNG + npy)", t_png),
            ("paper-style PIL draw + PNG (baseline, this run)", t_base)]
    print(f"{n} images of {size}x{size}")
    for name, t in rows:
        ms = 1e3 * t / n
        print(f"  {name:48s} {ms:7.4f} ms/image   x{t / t_base:6.3f} of baseline   "
              f"x{ms / PAPER_MS_PER_IMAGE:6.3f} of paper's {PAPER_MS_PER_IMAGE} ms")
    print(f"  100,000 images: {1e5 * t_gen / n:.1f} s without PNGs, {1e5 * t_png / n:.1f} s with PNGs")


if __name__ == "__main__":
    main()
