"""Where the statistics VAE's error comes from: four limits measured on the micro profile's crops.

    .venv/bin/python scripts/statistics_vae_limits.py                 # all four (about 8 min on 2 cores)
    .venv/bin/python scripts/statistics_vae_limits.py --only pca      # pca | drawing | realism | autoencoder

* ``pca``: the held-out crops' normalised-autocovariance error (|r| <= 16) of the k-component PCA of the statistics
  fitted on the training crops (the yardstick of notebook 07) and fitted on the held-out crops themselves: the part of
  the error that comes from the held-out region differing from the training region, which no code learned on the
  training region removes.
* ``drawing``: the first 7 held-out crops of each material drawn from their own true statistics windows |r| <= c
  (c = 16, 31) with a number of pixel steps, scored over |r| <= 16: the floor of any image drawn from a decoded window.
* ``realism``: the first 30 held-out crops of each material drawn from their own whole statistics (the limit,
  2,000 pixel steps), then the two-sample test of notebook 07 (:func:`utils.evaluation.realism.two_sample_accuracy`)
  between them and those crops: how far two-point statistics alone go towards images a classifier of interfaces,
  chords and clusters cannot tell from the material.
* ``autoencoder``: a deterministic autoencoder of the autocovariance window |r| <= 16 (9 numbers, linear maps started
  as the PCA plus MLPs started at zero, no KL), trained on the training crops: how far a nonlinear code can go below
  the PCA, on the training crops and on the held-out ones.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from utils.data.store import ensure_dataset, load_dataset
from utils.evaluation.micro import first_per_material, score
from utils.evaluation.realism import two_sample_accuracy
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.targets import Windows
from utils.project import Folders
from utils.statistics.crops import crop_statistics
from utils.statistics.descriptors import describe
from utils.statistics.objective import Objective
from utils.statistics.pca import StatisticsPCA
from utils.training.config import config_for
from utils.training.runs import dataset_split

WINDOW = 16   # notebook 07's scoring window on 64-px crops


def pca_limit(train, test) -> None:
    for k in (9, 16, 32):
        errors = [((StatisticsPCA.fit(fit, k).project(test).autocovariance - test.autocovariance) ** 2).mean()
                  for fit in (train, test)]
        print(f"PCA k={k}: fitted on the training crops {errors[0]:.4f}, on the held-out crops {errors[1]:.4f}")


def drawing_limit(crops: np.ndarray, names: list[str]) -> None:
    truth = crop_statistics(crops, cutoff=WINDOW)
    for c in (16, 31):
        objective = Objective(periodic=False, cutoff=c)
        windows = objective.targets(torch.as_tensor(crops))[0].numpy()
        for steps in (500, 1000, 2000):
            start = time.perf_counter()
            images = reconstruct_from_statistics(Windows(windows, crops.shape[1:]), objective=objective, steps=steps,
                                                 progress=False).images
            error = score(truth, crop_statistics(images, cutoff=WINDOW), names, "drawn")["autocovariance_mse"].mean()
            print(f"drawn from the true window |r| <= {c}, {steps} steps: {error:.4f} "
                  f"({(time.perf_counter() - start) / len(crops):.2f} s per crop)")


def realism_limit(crops: np.ndarray, names: list[str]) -> None:
    images = reconstruct_from_statistics(crops, objective=Objective(periodic=False), progress=False).images
    names = np.asarray(names)
    real, drawn = describe(crops), describe(images)
    for m in sorted(set(names.tolist())):
        print(f"the limit's images of {m}: told from the crops {100 * two_sample_accuracy(real[names == m], drawn[names == m]):.0f} %")


def autoencoder_limit(train, test, epochs: int = 60, hidden: int = 512) -> None:
    torch.manual_seed(0)
    pca = StatisticsPCA.fit(train, 9).autocovariance
    mean, comp = torch.tensor(pca.mean_).float(), torch.tensor(pca.components_[:9]).float()
    sd = torch.tensor(np.sqrt(pca.explained_variance_[:9])).float()
    x_train, x_test = (torch.tensor(s.autocovariance).float() for s in (train, test))
    d = x_train.shape[1]
    enc, dec = nn.Linear(d, 9), nn.Linear(9, d)
    with torch.no_grad():
        enc.weight.copy_(comp / sd[:, None]); enc.bias.copy_(-(comp @ mean) / sd)
        dec.weight.copy_((comp * sd[:, None]).T); dec.bias.copy_(mean)
    enc_mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 9))
    dec_mlp = nn.Sequential(nn.Linear(9, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, d))
    for last in (enc_mlp[-1], dec_mlp[-1]):
        nn.init.zeros_(last.weight); nn.init.zeros_(last.bias)
    modules = nn.ModuleList([enc, dec, enc_mlp, dec_mlp])

    def run(x):
        z = enc(x) + enc_mlp(x)
        return dec(z) + dec_mlp(z)

    optimizer = torch.optim.Adam(modules.parameters(), 1e-3)
    for epoch in range(epochs):
        order = torch.randperm(len(x_train))
        for s in range(0, len(order), 64):
            batch = x_train[order[s:s + 64]]
            loss = (run(batch) - batch).square().sum(dim=1).mean()
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        if (epoch + 1) % 10 == 0:
            with torch.no_grad():
                errors = [float((run(x) - x).square().mean()) for x in (x_train, x_test)]
            print(f"autoencoder, epoch {epoch + 1}: training crops {errors[0]:.4f}, held-out crops {errors[1]:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("pca", "drawing", "realism", "autoencoder"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config_for("micro", data_dir=str(Folders.of("micro").data))
    images, labels = load_dataset(ensure_dataset(cfg.dataset, cfg.data_dir))
    parts = dataset_split(cfg)
    materials = labels["material"].to_numpy()
    train = crop_statistics(images[parts["train"]].astype(np.float32), cutoff=WINDOW)
    test = crop_statistics(images[parts["test"]].astype(np.float32), cutoff=WINDOW)
    if args.only in (None, "pca"):
        pca_limit(train, test)
    if args.only in (None, "drawing"):
        chosen = first_per_material(parts["test"], list(materials[parts["test"]]), 7)
        drawing_limit(images[parts["test"]][chosen].astype(np.float32), list(materials[parts["test"]][chosen]))
    if args.only in (None, "realism"):
        chosen = first_per_material(parts["test"], list(materials[parts["test"]]), 30)
        realism_limit(images[parts["test"]][chosen].astype(np.float32), list(materials[parts["test"]][chosen]))
    if args.only in (None, "autoencoder"):
        autoencoder_limit(train, test)


if __name__ == "__main__":
    main()
