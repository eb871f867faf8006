"""Benchmark: the non-periodic statistics of crops, padded to n + n // 2 (the library) against 2n (the textbook).

    .venv/bin/python tests/benchmarks/bench_nonperiodic.py [--size 64] [--batch 64] [--rounds 5] [--threads 0]

A crop's non-periodic f (:func:`utils.statistics.two_point.autocorrelation` with ``periodic=False``) keeps the
offsets -(n // 2)..(n - 1) // 2 along each axis; zero-padding to 2n before the FFT (no offset can wrap) is the
textbook recipe, and n + n // 2, rounded up to a length of small primes (:func:`utils.statistics.two_point.fast_length`),
is already enough for those offsets: 96² points instead of 128² for a 64² crop.  Side by side in one run, on the same
batch of soft indicators, forward and backward (what every step of the limit, of drawing from a statistics VAE and of
a non-periodic training loss costs): the library's call, and the same computation padded to 2n.  Prints milliseconds
per batch (median of ``--rounds``), the ratio, and the largest difference between the two (rounding only).  Not
collected by pytest.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from utils.statistics.two_point import _pair_counts, autocorrelation


def padded_to_twice(m: torch.Tensor) -> torch.Tensor:
    """The non-periodic f of ``m`` (n, H, W), r = 0 at (H // 2, W // 2), computed with FFTs of (2H, 2W)."""
    shape, dims = tuple(m.shape[-2:]), (-2, -1)
    size = tuple(2 * n for n in shape)
    spectrum = torch.fft.rfftn(m, s=size, dim=dims)
    corr = torch.fft.irfftn(spectrum.real.square() + spectrum.imag.square(), s=size, dim=dims)
    for d, n in zip(dims, shape):
        corr = torch.roll(corr, shifts=n // 2, dims=d).narrow(d, 0, n)
    return corr / _pair_counts(shape, corr.dtype, corr.device)


def time_one(function, m: torch.Tensor, rounds: int) -> float:
    """Median milliseconds of forward + backward of ``function(m).square().sum()``."""
    times = []
    for _ in range(rounds + 1):                      # the first round warms up
        x = m.detach().clone().requires_grad_(True)
        start = time.perf_counter()
        function(x).square().sum().backward()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="crop side n (px)")
    parser.add_argument("--batch", type=int, default=64, help="crops per batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: its default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    m = torch.rand(args.batch, args.size, args.size, generator=torch.Generator().manual_seed(0))
    library = time_one(lambda x: autocorrelation(x, periodic=False), m, args.rounds)
    textbook = time_one(padded_to_twice, m, args.rounds)
    gap = float((autocorrelation(m, periodic=False) - padded_to_twice(m)).abs().max())
    print(f"{args.batch} crops of {args.size}², float32, {torch.get_num_threads()} threads, forward + backward:")
    print(f"  padded to n + n // 2 (library): {library:.1f} ms")
    print(f"  padded to 2n (textbook):        {textbook:.1f} ms")
    print(f"  textbook / library: {textbook / library:.2f}x; largest difference {gap:.1e}")


if __name__ == "__main__":
    main()
