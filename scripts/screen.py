"""Screen a VAE design: a short, fixed training of our VAE on the cpu profile's dataset, scored on
the first test images at z = mu and with the latent refined (utils.inverse.inversion.refine_latent).

    .venv/bin/python scripts/screen.py NAME --seed 1 sharp_eps=0 beta=0.2
    .venv/bin/python scripts/screen.py NAME --profile micro beta=0.01   # on the micrograph crops
    .venv/bin/python scripts/screen.py --table            # every result so far, one row each

With ``--profile micro`` the variant starts from ``config_for("micro", "spatial_stats")`` and is
scored as notebook 07 scores it (utils.evaluation.micro: autocovariance error and volume-fraction difference
on the first held-out crops, no refinement); its run goes to ``runs/screen/micro-NAME-seed<S>/``.

NAME labels the variant; the words after it are TrainConfig fields (``key=value``) changed from
``config_for("cpu", "spatial_stats")``.  The run goes to ``runs/screen/NAME-seed<S>/`` (an
interrupted one resumes, a finished one is only scored again) and its scores are appended to
``runs/screen/results.jsonl``.  On 2 cores run two screens side by side with ``--threads 1``
each (one process of 2 threads each is many times slower).  docs/experiments.md reports them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from utils.data.store import load_dataset
from utils.evaluation.evaluate import per_image_table, reconstruct
from utils.evaluation.report import summarise
from utils.files import write_json
from utils.inverse.inversion import refine_latent
from utils.project import data_dir, runs_dir
from utils.training.config import TrainConfig, config_for
from utils.training.loop import train
from utils.training.runs import dataset_split, load_run, read_history

SCREEN = runs_dir() / "screen"


def _value(name: str, text: str):
    kind = typing.get_type_hints(TrainConfig)[name]
    if kind is bool:
        return text.lower() in ("1", "true", "yes")
    return kind(text)


def _micro_scores(originals: np.ndarray, recons: np.ndarray, materials: list[str]) -> dict[str, float]:
    from utils.statistics.crops import crop_statistics
    from utils.evaluation.micro import score

    cutoff = originals.shape[1] // 4
    rows = score(crop_statistics(originals, cutoff=cutoff), crop_statistics(recons, cutoff=cutoff), materials, "screen")
    return {"autocovariance_mse": float(rows["autocovariance_mse"].mean()), "vf_diff": float(rows["vf_diff"].mean())}


def screen(name: str, seed: int, epochs: int, threads: int, n_test: int, refine_steps: int,
           overrides: dict, profile: str = "cpu") -> dict:
    torch.set_num_threads(threads)
    cfg = config_for(profile, "spatial_stats", epochs=epochs, seed=seed, num_threads=threads,
                     data_dir=str(data_dir()), sample_every=0, **overrides)
    run = SCREEN / (f"{name}-seed{seed}" if profile == "cpu" else f"{profile}-{name}-seed{seed}")
    start = time.perf_counter()
    train(cfg, run, resume=True, progress=False)
    train_minutes = float(read_history(run)["seconds"].sum() / 60)
    model, cfg = load_run(run)
    images, labels = load_dataset(Path(cfg.data_dir) / cfg.dataset.name)
    test = dataset_split(cfg)["test"][:n_test]
    originals, truth = np.asarray(images[test]), labels.iloc[test].reset_index(drop=True)
    if profile != "cpu":
        scores = {"z = mu": _micro_scores(originals, reconstruct(model, originals), list(truth["material"]))}
        refine_steps = 0
    else:
        scores = {"z = mu": summarise(per_image_table(originals, truth, reconstruct(model, originals)),
                                      percent=True)}
    if refine_steps:
        scale = json.loads((run / "finished.json").read_text())["stats_scale"]
        refined = refine_latent(model, originals, objective=cfg.objective(scale), steps=refine_steps, progress=False)
        scores["refined"] = summarise(per_image_table(originals, truth, refined.images), percent=True)
    row = {"name": name, "profile": profile, "seed": seed, "epochs": epochs, "overrides": overrides, "n_test": len(test),
           "train_minutes": round(train_minutes, 2), "minutes": round((time.perf_counter() - start) / 60, 2),
           **{f"{k} {m}": float(f"{v:.6g}") for k, s in scores.items() for m, v in s.items()}}
    write_json(run / "screen.json", row)
    with open(SCREEN / "results.jsonl", "a") as handle:      # one line per screen, appended
        handle.write(json.dumps(row) + "\n")
    return row


def table() -> pd.DataFrame:
    rows = [json.loads(line) for line in (SCREEN / "results.jsonl").read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows)
    frame["profile"] = frame["profile"].fillna("cpu") if "profile" in frame else "cpu"   # rows from before --profile
    keep = ["name", "profile", "seed", "epochs", "train_minutes", "z = mu line_count_correct_pct", "refined line_count_correct_pct",
            "z = mu orientation_correct_pct", "z = mu volume_fraction_diff_mean", "z = mu spatial_stats_mse",
            "z = mu autocovariance_mse", "z = mu vf_diff"]
    return frame[[k for k in keep if k in frame]].drop_duplicates(["name", "profile", "seed", "epochs"], keep="last")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="label of the variant")
    parser.add_argument("overrides", nargs="*", help="TrainConfig fields, key=value")
    parser.add_argument("--seed", type=int, default=127)
    parser.add_argument("--profile", default="cpu", choices=["cpu", "micro"], help="start from this profile")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the screen (docs/experiments.md: 15)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-test", type=int, default=None, help="first test images scored (default: 500 of the "
                        "cpu profile, every held-out crop of micro)")
    parser.add_argument("--refine-steps", type=int, default=200, help="Adam steps on z (0: no refined row)")
    parser.add_argument("--table", action="store_true", help="print every result so far")
    args = parser.parse_intermixed_args()
    if args.table:
        print(table().to_string(index=False))
        return
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    overrides = {}
    for item in args.overrides:
        key, _, text = item.partition("=")
        if key not in fields:
            parser.error(f"unknown TrainConfig field {key!r}")
        overrides[key] = _value(key, text)
    n_test = args.n_test or (500 if args.profile == "cpu" else 10 ** 9)
    print(json.dumps(screen(args.name, args.seed, args.epochs, args.threads, n_test, args.refine_steps,
                            overrides, args.profile)))


if __name__ == "__main__":
    main()
