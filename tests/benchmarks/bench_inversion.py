"""Benchmark: the cost per image of the three ways notebook 04 reconstructs a test image.

    .venv/bin/python tests/benchmarks/bench_inversion.py [--images 64] [--rounds 3] [--threads 0]

On the same batch of cpu-profile images (64², 1-5 lines), side by side in one run:

* ``z = mu``: the plain forward pass of the cpu profile's VAE (untrained weights: the cost does not
  depend on them), the paper's protocol;
* ``refined``: :func:`utils.inverse.inversion.refine_latent`, 200 Adam steps on z with the decoder frozen;
* ``limit``: :func:`utils.inverse.inversion.reconstruct_from_statistics`, 1500 Adam steps on the pixels.

Step counts and rates are utils.inverse.inversion's (``REFINE_STEPS``, ``LIMIT_STEPS``, notebook 04's
defaults; the limit there also restarts ``LIMIT_RESTARTS`` = 4 times, which multiplies its cost by 4).  Prints milliseconds per image and each one's ratio to
the forward pass (median of ``--rounds``).  Not collected by pytest; the README quotes it.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from utils.data.lines import generate_lines
from utils.inverse.inversion import LIMIT_STEPS, REFINE_STEPS, reconstruct_from_statistics, refine_latent
from utils.training.config import config_for
from utils.training.models import build_vae


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64, help="images in the batch (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the median is printed")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config_for("cpu", "spatial_stats")
    torch.manual_seed(0)
    model = build_vae(cfg.model).eval()
    images, _ = generate_lines(args.images, size=cfg.image_size, min_lines=cfg.min_lines,
                               max_lines=cfg.max_lines, seed=0)
    x = torch.as_tensor(images, dtype=torch.float32)

    def forward() -> None:
        with torch.no_grad():
            model.decode(model.encode(x.unsqueeze(1))[0])

    jobs = {
        "z = mu (forward pass)": forward,
        f"refined ({REFINE_STEPS} steps on z)": lambda: refine_latent(
            model, images, objective=cfg.objective(), steps=REFINE_STEPS, progress=False),
        f"limit ({LIMIT_STEPS} steps on pixels)": lambda: reconstruct_from_statistics(
            images, steps=LIMIT_STEPS, progress=False),
    }
    timings = {name: [] for name in jobs}
    for _ in range(args.rounds):
        for name, job in jobs.items():
            timings[name].append(seconds(job))
    base = statistics.median(timings["z = mu (forward pass)"])
    print(f"{args.images} images of {cfg.image_size}², {torch.get_num_threads()} threads, "
          f"median of {args.rounds} rounds")
    for name, values in timings.items():
        t = statistics.median(values)
        print(f"  {name:32s} {1000 * t / args.images:9.2f} ms/image   x{t / base:8.0f} the forward pass")


if __name__ == "__main__":
    main()
