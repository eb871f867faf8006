"""How well can a decoder family draw the lines at all?  Train a decoder with free per-image codes.

    .venv/bin/python scripts/decoder_capacity.py --channels 16 --epochs 100

No encoder and no KL term: each of the first ``--images`` training images of the cpu profile's
dataset gets its own 9-number code (a free parameter; 1e-3 |z|² is added to its loss), learnt with the
decoder under the cpu profile's statistics loss (its objective, ``TrainConfig.objective``: both terms,
normalised as in training).  The line count of the decoded images *on those same images* is then an upper bound on what the VAE's amortised encoder
can get out of the conv decoder and the loss: docs/experiments.md ("The line-count gap, measured in three parts", commit 95c479b) reports it as the
decoder cap (the broadcast decoder and a pixel warm-up were measured with this script at commit 8eec102).  Prints one JSON line with the scores and the line count by number of lines.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from utils.data.spectra import spectra_cache
from utils.data.store import load_dataset
from utils.evaluation.evaluate import per_image_table
from utils.evaluation.report import summarise
from utils.project import data_dir
from utils.training.config import config_for
from utils.training.models import ConvDecoder
from utils.training.runs import dataset_split

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=16, help="base channels of the decoder")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--images", type=int, default=2000, help="first training images used")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config_for("cpu")
    folder = Path(data_dir()) / cfg.dataset.name
    images, labels = load_dataset(folder)
    train = dataset_split(cfg)["train"]
    idx = train[:args.images]
    spectra, peaks = spectra_cache(folder, images, progress=False)
    target = torch.as_tensor(np.asarray(spectra[idx]))
    scale = float(peaks[train].max())          # normalize_stats, as the training does
    torch.manual_seed(args.seed)
    decoder = ConvDecoder(cfg.latent_dim, cfg.image_size, args.channels)
    objective = cfg.objective(scale)
    codes = torch.nn.Parameter(0.1 * torch.randn(len(idx), cfg.latent_dim))
    opt = torch.optim.Adam([{"params": decoder.parameters(), "lr": 1e-3}, {"params": [codes], "lr": 1e-2}])
    order = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(idx), generator=order)
        for s in range(0, len(idx) - cfg.batch_size + 1, cfg.batch_size):
            b = perm[s:s + cfg.batch_size]
            recon = decoder(codes[b])[:, 0]
            fit = objective.per_image(recon, (target[b],))
            loss = (fit + 1e-3 * codes[b].square().sum(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    decoder.eval()
    with torch.no_grad():
        recon = torch.cat([decoder(codes[s:s + 256])[:, 0] for s in range(0, len(idx), 256)]).numpy()
    table = per_image_table(np.asarray(images[idx]), labels.iloc[idx].reset_index(drop=True), recon)
    by_n = table.groupby("n_lines")["line_count_correct"].mean().round(2).to_dict()
    print(json.dumps({**vars(args), "minutes": round((time.perf_counter() - start) / 60, 1),
                      **{k: round(float(v), 4) for k, v in summarise(table, percent=True).items()},
                      "by_n": {int(k): v for k, v in by_n.items()}}), flush=True)


if __name__ == "__main__":
    main()
