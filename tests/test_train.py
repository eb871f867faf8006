"""utils.training.loop: profiles, the run folder, exact resume after a kill, failures, torchrun."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import utils.data.lines
from utils.data.spectra import spectra_cache
import utils.data.spectra
from utils.data.store import load_dataset
from utils.statistics.two_point import spatial_statistics
from utils.training.batches import LinesDataset, prepare_training_data
from utils.training.config import (PROFILES, PROFILE_PURPOSES, REMOVED_FIELDS, RUNTIME_FIELDS, TrainConfig,
                                   build_parser, config_for, lr_at)
import utils.training.device
from utils.training.device import Dist, autocast_dtype
import utils.training.loop
from utils.training.loop import TrainingDiverged, main, train
import utils.training.losses
import utils.training.models
from utils.training.runs import (config_differences, dataset_split, is_finished, load_checkpoint, load_run,
                                 read_config, read_history)

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["epoch", "lr", "seconds", "train_total", "train_recon", "train_kl", "val_total", "val_recon", "val_kl"]


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "utils.training", *args], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def smoke_cfg(data_dir) -> TrainConfig:
    return config_for("smoke", "spatial_stats", data_dir=str(data_dir))


@pytest.fixture(scope="module")
def smoke_run(smoke_cfg, tmp_path_factory, one_thread) -> Path:
    """One uninterrupted smoke run (it also generates the smoke dataset on the fly)."""
    return train(smoke_cfg, tmp_path_factory.mktemp("runs") / "smoke", progress=False)


# ----------------------------------------------------------------------------- configuration

def test_profiles_follow_the_paper_and_the_issue():
    paper = config_for("paper", "spatial_stats")
    assert (paper.encoder, paper.pretrained, paper.image_size, paper.n_images, paper.epochs, paper.batch_size,
            paper.lr, paper.beta, paper.latent_dim, paper.seed) == \
        ("resnet152", True, 224, 100_000, 1500, 32, 1e-3, 1.0, 9, 127)
    vanilla = config_for("paper", "data")
    assert (vanilla.epochs, vanilla.seed, vanilla.loss) == (400, 125, "data")
    cpu = config_for("cpu", "data")
    assert (cpu.encoder, cpu.image_size, cpu.n_images, cpu.batch_size, cpu.lr) == ("conv", 64, 20000, 32, 1e-3)
    ours = config_for("cpu", "spatial_stats")   # trains longer than the vanilla VAE, as in the paper
    assert (ours.epochs, cpu.epochs, ours.beta, cpu.beta) == (40, 25, 0.1, 1.0)
    assert ours.base_channels == cpu.base_channels == 16      # 3x faster a step than 32 (commit c3dcaef)
    sweep = config_for("sweep", "spatial_stats")
    assert (sweep.epochs, sweep.sample_every, sweep.profile) == (10, 0, "sweep")
    assert dataclasses.replace(sweep, epochs=ours.epochs, sample_every=ours.sample_every, profile="cpu") == ours
    assert PROFILES["smoke"]["data"].dataset.name == "lines_n256_s32_l1-5_seed0"
    assert config_for("cpu", lines=(3, 7)).dataset == config_for("cpu", min_lines=3, max_lines=7).dataset
    assert config_for("cpu", lines=(3, 7)).dataset.name == "lines_n20000_s64_l3-7_seed0"
    assert cpu.model.encoder == "conv" and paper.model.image_size == 224


def test_config_for_rejects_unknown_names_and_bad_values():
    with pytest.raises(ValueError, match="unknown profile"):
        config_for("gpu")
    with pytest.raises(ValueError, match="unknown TrainConfig fields.*'learning_rate'"):
        config_for("cpu", learning_rate=1e-3)
    with pytest.raises(ValueError, match="profile 'cpu' has no model 'l1'; its models"):
        config_for("cpu", "l1")
    with pytest.raises(ValueError, match="loss must be"):
        config_for("cpu", loss="l1")
    with pytest.raises(ValueError, match="multiple of 16"):
        config_for("cpu", image_size=72)
    with pytest.raises(ValueError, match="lr must be > 0"):
        config_for("cpu", lr=0.0)


def test_learning_rate_is_halved_for_the_last_tenth_of_epochs():
    cfg = config_for("paper")
    assert [lr_at(cfg, e) for e in (0, 1349, 1350, 1499)] == [1e-3, 1e-3, 5e-4, 5e-4]
    cfg = config_for("cpu", epochs=20, lr_decay_fraction=0.25, lr_decay_factor=0.1)
    assert [lr_at(cfg, e) for e in (14, 15)] == pytest.approx([1e-3, 1e-4])


def test_help_documents_every_field_and_values_parse():
    parser = build_parser()
    text = parser.format_help()
    for f in dataclasses.fields(TrainConfig):
        if f.name not in ("profile", "loss"):
            assert f"--{f.name}" in text, f.name
    assert "--profile" in text and "--resume" in text and "TEST ONLY" not in text
    assert "paper/data: 400" in text                       # loss-specific defaults are shown
    assert list(PROFILE_PURPOSES) == list(PROFILES)         # every profile says what it is for ...
    profile_help = " ".join(text.split("--profile {")[2].split("--model")[0].split()).replace("- ", "-")   # unwrapped
    for name, use in PROFILE_PURPOSES.items():              # ... and --help lists them all
        assert f"{name}: {' '.join(use.split())}" in profile_help, name
    args = parser.parse_args(["--profile", "smoke", "--lr=5e-4", "--pretrained=false", "--latent-dim", "3"])
    assert (args.profile, args.lr, args.pretrained, args.latent_dim, args.epochs) == ("smoke", 5e-4, False, 3, None)


# ----------------------------------------------------------------------------- a run and its folder

def test_run_folder_holds_everything(smoke_run, smoke_cfg):
    assert json.loads((smoke_run / "config.json").read_text()) == dataclasses.asdict(smoke_cfg)
    assert read_config(smoke_run) == smoke_cfg
    history = read_history(smoke_run)
    assert list(history.columns) == COLUMNS and history["epoch"].tolist() == [1, 2]
    assert history[COLUMNS[3:]].notna().all().all() and (history[COLUMNS[3:]] >= 0).all().all()
    assert history["train_total"].iloc[1] < history["train_total"].iloc[0]          # it learns
    pd.testing.assert_series_equal(history["val_total"], history["val_recon"] + history["val_kl"],
                                   check_names=False, rtol=1e-6)
    assert (smoke_run / "samples" / "epoch_0002.png").stat().st_size > 1000
    finished = json.loads((smoke_run / "finished.json").read_text())
    assert is_finished(smoke_run) and finished["epochs"] == 2 and finished["steps"] == 10
    assert finished["best_epoch"] == int(history["val_total"].idxmin()) + 1
    folder = Path(smoke_cfg.data_dir) / smoke_cfg.dataset.name
    assert (folder / "spectra_phase0_eps0.25.npy").is_file() and (folder / "spectra_phase0_eps0.25.json").is_file()
    model, cfg = load_run(smoke_run)
    assert cfg == smoke_cfg and not model.training
    assert model.reconstruct(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    last = load_checkpoint(smoke_run / "last.pt")
    assert last["epoch"] == 2 and "optimizer" in last and len(last["history"]) == 2


def test_a_run_of_older_code_reads_when_its_removed_settings_were_off(smoke_run, smoke_cfg, tmp_path):
    stored = json.loads((smoke_run / "config.json").read_text())
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({**stored, **REMOVED_FIELDS}))      # older code wrote them, off
    assert read_config(old) == smoke_cfg and config_differences(old, smoke_cfg) == []
    (old / "config.json").write_text(json.dumps({**stored, **REMOVED_FIELDS, "tv_weight": 0.01}))
    with pytest.raises(ValueError, match=r"tv_weight = 0\.01.*8eec102"):
        read_config(old)
    assert config_differences(old, smoke_cfg) == ["tv_weight = 0.01 (a removed setting: see commit 8eec102)"]
    (old / "config.json").write_text(json.dumps({**stored, "decoder": "resize", "coarse_sigma": 3.0}))
    with pytest.raises(ValueError, match=r"decoder = 'resize'.*8eec102"):      # coarse_sigma alone did nothing
        read_config(old)


def test_cli_runs_a_smoke_training_and_resume_says_it_is_finished(data_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["--profile", "smoke", "--model", "data", "--out", str(out), f"--data_dir={data_dir}", "--quiet",
            "--sample_every=0"]
    done = _cli(*args)                                   # python -m utils.training, as a user types it
    assert done.returncode == 0, done.stderr
    assert is_finished(out) and len(read_history(out)) == 2 and read_config(out).loss == "data"
    before = _sha(out / "last.pt")
    assert main([*args, "--resume"]) == 0                # the same entry point in this process: a second start saved
    assert "finished" in capsys.readouterr().out and _sha(out / "last.pt") == before


def test_existing_runs_are_never_destroyed_by_accident(smoke_run, smoke_cfg, tmp_path, capsys):
    before = _sha(smoke_run / "last.pt")
    with pytest.raises(FileExistsError, match="--resume.*--overwrite=true"):
        train(smoke_cfg, smoke_run, progress=False)
    assert train(smoke_cfg, smoke_run, resume=True, progress=False) == smoke_run
    assert "finished" in capsys.readouterr().out and _sha(smoke_run / "last.pt") == before
    with pytest.raises(ValueError, match="different configuration.*lr: run has 0.001, asked for 0.01"):
        train(dataclasses.replace(smoke_cfg, lr=1e-2), smoke_run, resume=True, progress=False)
    # runtime fields may differ when resuming
    assert train(dataclasses.replace(smoke_cfg, sample_every=0, num_workers=0), smoke_run, resume=True,
                 progress=False) == smoke_run
    assert RUNTIME_FIELDS < {f.name for f in dataclasses.fields(TrainConfig)}
    # overwrite=True starts afresh (in a copy, to leave the shared run alone)
    copy = tmp_path / "copy"
    shutil.copytree(smoke_run, copy)
    train(dataclasses.replace(smoke_cfg, epochs=1, overwrite=True, sample_every=0), copy, progress=False)
    assert read_history(copy)["epoch"].tolist() == [1] and not (copy / "samples").exists()


KILLED_AT_STEP = """
import os, signal, sys
import torch
from utils.training.loop import main
step, done = torch.optim.Adam.step, [0]
def step_then_maybe_die(self, *args, **kwargs):
    out = step(self, *args, **kwargs)
    done[0] += 1
    if done[0] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)      # kill -9: nothing flushed, no clean-up
    return out
torch.optim.Adam.step = step_then_maybe_die
sys.exit(main(sys.argv[2:]))
"""


def _killed_at_step(step: int, *args: str) -> subprocess.CompletedProcess:
    """``python -m utils.training ARGS`` killed by SIGKILL right after optimiser step ``step``."""
    return subprocess.run([sys.executable, "-c", KILLED_AT_STEP, str(step), *args], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_resume_after_a_kill_mid_epoch_gives_identical_weights(smoke_run, smoke_cfg, data_dir, tmp_path):
    out = tmp_path / "killed"
    # 5 steps per epoch: step 7 is in the middle of epoch 2, after the epoch-1 checkpoint
    killed = _killed_at_step(7, "--profile", "smoke", "--out", str(out), f"--data_dir={data_dir}", "--quiet")
    assert killed.returncode == -9, killed.stderr
    assert load_checkpoint(out / "last.pt")["epoch"] == 1 and not is_finished(out)
    assert read_history(out)["epoch"].tolist() == [1]

    train(smoke_cfg, out, resume=True, progress=False)
    assert is_finished(out)
    a, b = load_checkpoint(smoke_run / "last.pt"), load_checkpoint(out / "last.pt")
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
    cols = [c for c in COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(read_history(smoke_run)[cols], read_history(out)[cols])
    for name in ("best.pt",):
        assert all(torch.equal(load_checkpoint(smoke_run / name)["model"][k], load_checkpoint(out / name)["model"][k])
                   for k in a["model"])


def test_amp_modes_resolve_and_bad_values_are_refused():
    cpu = torch.device("cpu")
    assert autocast_dtype("off", cpu) is None
    assert autocast_dtype("bf16", cpu) is torch.bfloat16
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    assert autocast_dtype("auto", cpu) is (torch.bfloat16 if native else None)
    assert config_for("cpu").amp == "auto" and config_for("smoke").amp == "off" and config_for("paper").amp == "off"
    with pytest.raises(ValueError, match="amp must be one of"):
        config_for("smoke", amp="fp8")


def test_bf16_training_is_deterministic_and_keeps_float32_weights(smoke_cfg, tmp_path):
    """amp=bf16 (autocast + channels-last on a CPU): same seed, same weights; losses stay float32."""
    cfg = dataclasses.replace(smoke_cfg, amp="bf16", epochs=1, sample_every=0)
    runs = [train(cfg, tmp_path / name, progress=False) for name in ("a", "b")]
    a, b = (load_checkpoint(run / "last.pt")["model"] for run in runs)
    fp32 = load_checkpoint(train(dataclasses.replace(cfg, amp="off"), tmp_path / "fp32", progress=False)
                           / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(v.dtype == fp32[k].dtype for k, v in a.items())            # weights are not stored as bf16
    assert any(not torch.equal(a[k], fp32[k]) for k in a if a[k].is_floating_point())  # bf16 really ran
    history = read_history(runs[0])
    assert np.isfinite(history[[c for c in COLUMNS if c != "seconds"]].to_numpy()).all()
    assert json.loads((runs[0] / "finished.json").read_text())["model_dtype"] == "bfloat16"
    model, _ = load_run(runs[0])                                          # loads into a plain float32 model
    assert model.reconstruct(torch.ones(2, 1, cfg.image_size, cfg.image_size)).dtype == torch.float32


# ----------------------------------------------------------------------------- failures

@pytest.mark.parametrize("where", ["kl", "output"])
def test_nan_stops_training_with_a_clear_message_and_keeps_the_checkpoint(where, smoke_cfg, tmp_path, monkeypatch):
    out = tmp_path / "nan"
    seen = {"train_calls": 0}
    real_loss, real_forward = utils.training.losses.vae_loss, utils.training.models.VAE.forward

    def poisoned() -> bool:
        """True from the first training step of epoch 2 on (5 steps per epoch)."""
        if not torch.is_grad_enabled():
            return False
        seen["train_calls"] += 1
        if seen["train_calls"] == 6:
            seen["last_pt"] = _sha(out / "last.pt")       # what must survive
        return seen["train_calls"] >= 6

    def nan_loss(*args, **kwargs):
        parts = real_loss(*args, **kwargs)
        if poisoned():
            parts["kl"] = parts["kl"] * float("nan")
            parts["total"] = parts["recon"] + parts["kl"]
        return parts

    def nan_forward(self, x, generator=None):
        recon, mu, logvar = real_forward(self, x, generator)
        return (recon * float("nan"), mu, logvar) if poisoned() else (recon, mu, logvar)

    if where == "kl":
        monkeypatch.setattr(utils.training.losses, "vae_loss", nan_loss)
    else:
        monkeypatch.setattr(utils.training.models.VAE, "forward", nan_forward)
    with pytest.raises(TrainingDiverged) as info:
        train(dataclasses.replace(smoke_cfg, sample_every=0), out, progress=False)
    message = str(info.value)
    assert "epoch 2/2" in message and "step 6" in message and "--lr=" in message and "untouched" in message
    assert ("kl = nan" in message and "total = nan" in message) if where == "kl" else "NaN/inf outputs" in message
    assert _sha(out / "last.pt") == seen["last_pt"] and load_checkpoint(out / "last.pt")["epoch"] == 1
    assert not is_finished(out) and len(read_history(out)) == 1


def test_corrupt_or_mismatched_checkpoints_give_clear_errors(smoke_run, smoke_cfg, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    data = (run / "last.pt").read_bytes()
    (run / "last.pt").write_bytes(data[: len(data) // 2])                 # truncated by a crash
    with pytest.raises(ValueError, match=r"last\.pt is corrupt or truncated.*delete it"):
        load_run(run, which="last")
    (run / "finished.json").unlink()
    with pytest.raises(ValueError, match=r"last\.pt is corrupt"):
        train(smoke_cfg, run, resume=True, progress=False)
    (run / "last.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(run / "last.pt")
    torch.save([1, 2, 3], run / "last.pt")
    with pytest.raises(ValueError, match="not a checkpoint written by utils.training.loop"):
        load_checkpoint(run / "last.pt")

    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "latent_dim": 5}))
    with pytest.raises(ValueError, match=r"best\.pt does not match the model.*size mismatch.*load_run"):
        load_run(run, which="best")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(run / "missing.pt")


# ----------------------------------------------------------------------------- the spectra cache and the loss


@pytest.mark.parametrize("normalize", [False, True])
def test_training_loss_equals_the_real_space_loss(smoke_run, smoke_cfg, normalize):
    """The loss as training computes it (cached target spectra, scale from the cached peaks) equals the
    paper's definition in real space (the statistics themselves, scale = largest statistic of the
    training images)."""
    cfg = dataclasses.replace(smoke_cfg, normalize_stats=normalize)
    data = prepare_training_data(cfg, Dist(1, 0, torch.device("cpu")), progress=False)
    images = load_dataset(Path(cfg.data_dir) / cfg.dataset.name)[0]
    stats = spatial_statistics(torch.as_tensor(np.asarray(images, dtype=np.float32))).numpy()   # f(x), real space
    train_idx = dataset_split(cfg)["train"]
    real_scale = float(np.max(stats[train_idx, 16, 16])) if normalize else 1.0
    assert data.stats_scale == pytest.approx(real_scale, rel=1e-6)
    assert (data.stats_scale == 1.0) != normalize

    idx = train_idx[:cfg.batch_size]
    x, target = next(iter(torch.utils.data.DataLoader(LinesDataset(data.images, idx, spectra=data.spectra),
                                                      batch_size=len(idx))))
    assert target.shape == (len(idx), 1, 32, 17) and target.dtype == torch.float32
    model = utils.training.models.build_vae(cfg.model)
    recon, mu, logvar = model(x, generator=torch.Generator().manual_seed(0))
    common = dict(loss="spatial_stats", alpha=cfg.alpha, beta=cfg.beta, objective=cfg.objective(data.stats_scale))
    new = utils.training.losses.vae_loss(recon, x, mu, logvar, targets=(target,), **common)
    real_recon = ((spatial_statistics(recon) - torch.from_numpy(stats[idx])[:, None]) / real_scale).square().sum(
        dim=(1, 2, 3)).mean()
    real = {"recon": real_recon, "total": cfg.alpha * real_recon + cfg.beta * utils.training.losses.kl_divergence(mu, logvar)}
    exact = utils.training.losses.vae_loss(recon.double(), x.double(), mu.double(), logvar.double(), **common)  # float64, from x
    for key in ("total", "recon"):
        assert new[key].item() == pytest.approx(real[key].item(), rel=2e-6), key
        assert new[key].item() == pytest.approx(exact[key].item(), rel=2e-6), key
    (g_new,) = torch.autograd.grad(new["total"], recon, retain_graph=True)
    (g_real,) = torch.autograd.grad(real["total"], recon)
    assert ((g_new - g_real).norm() / g_real.norm()).item() < 1e-5


def test_spectra_cache_is_built_once_and_rebuilt_when_stale(tmp_path, monkeypatch):
    images, _ = utils.data.lines.generate_lines(10, size=16, seed=1)
    calls = []
    real = utils.data.spectra.compute_spectra_cache

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(utils.data.spectra, "compute_spectra_cache", counting)
    spectra, peaks = spectra_cache(tmp_path, images, progress=False)
    assert spectra.shape == (10, 16, 9) and spectra.dtype == np.float32 and len(calls) == 1
    expected, expected_peaks = real(images, progress=False)
    np.testing.assert_array_equal(spectra, expected)
    np.testing.assert_array_equal(peaks, expected_peaks)
    meta = json.loads((tmp_path / "spectra_phase0_eps0.25.json").read_text())
    assert meta["image_shape"] == [10, 16, 16] and meta["largest_statistic"] == max(meta["peaks"])

    again, again_peaks = spectra_cache(tmp_path, images, progress=False)        # reused as is
    assert len(calls) == 1 and np.array_equal(again, spectra) and np.array_equal(again_peaks, peaks)
    spectra_cache(tmp_path, images[:8], progress=False)                        # other images: rebuilt
    assert len(calls) == 2
    (tmp_path / "spectra_phase0_eps0.25.json").unlink()                      # array without its json
    spectra_cache(tmp_path, images, progress=False)
    assert len(calls) == 3
    (tmp_path / "spectra_phase0_eps0.25.json").write_text("{not json")       # torn json
    spectra_cache(tmp_path, images, progress=False)
    assert len(calls) == 4
    other, _ = spectra_cache(tmp_path, images, phase=1.0, progress=False)     # another phase: its own files
    assert len(calls) == 5 and (tmp_path / "spectra_phase1_eps0.25.npy").is_file()
    assert not np.array_equal(other, spectra)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "spectra_phase0_eps0.25.json", "spectra_phase0_eps0.25.npy", "spectra_phase1_eps0.25.json",
        "spectra_phase1_eps0.25.npy"]                                          # no temporary files left


# ----------------------------------------------------------------------------- torchrun

def test_torchrun_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    # torchrun --nproc_per_node=2 on a machine with one GPU: process 1 has no cuda:1 (seen on an H200)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"only 1 CUDA device.*--nproc_per_node at most 1.*--device=cpu"):
        Dist.from_env("auto")


def test_torchrun_two_cpu_processes(data_dir, smoke_run, tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available in this torch build")
    try:
        import importlib
        importlib.import_module("torch.distributed.run")      # what the torchrun command runs
    except ImportError as err:
        pytest.skip(f"torchrun (torch.distributed.run) cannot be imported: {err}")
    out = tmp_path / "ddp"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "utils.training", "--profile", "smoke", "--model", "data", "--out", str(out),
                           f"--data_dir={data_dir}", "--quiet", "--sample_every=1", "--device=cpu"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run folder:") == 1                 # only rank 0 reports
    assert is_finished(out) and read_history(out)["epoch"].tolist() == [1, 2]
    # 179 training images split over 2 processes: 90 each, 2 full batches of 32 per epoch
    assert json.loads((out / "finished.json").read_text())["steps"] == 4
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    model, cfg = load_run(out)
    assert cfg.loss == "data" and not any(k.startswith("module.") for k in model.state_dict())


@pytest.mark.parametrize("profile, cutoff", [("cpu", 0), ("micro", 0), ("micro", 8)])
def test_the_training_term_is_the_objective_that_refinement_and_the_limit_minimise(profile, cutoff):
    """On one batch, the reconstruction term a training of ``profile`` logs (utils.training.losses.vae_loss, as
    utils.training.loop calls it) is the batch mean of ``TrainConfig.objective(scale).per_image``, which
    utils.inverse.inversion minimises per image (refinement's loss at z = mu is checked here too); and both are the
    direct sum over widths and offsets of the squared difference of the statistics."""
    from utils.inverse.inversion import refine_latent
    from utils.statistics.objective import Objective
    from utils.statistics.maps import cutoff_window
    from utils.statistics.two_point import spatial_statistics
    cfg = dataclasses.replace(config_for(profile, "spatial_stats"), cutoff=cutoff)
    assert cfg.sharp_eps > 0 and (profile == "cpu") == cfg.periodic     # both terms, both kinds of statistics
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(5, 1, 32, 32, generator=g) > 0.7).float()
    recon = torch.rand(5, 1, 32, 32, generator=g).requires_grad_(True)
    mu, logvar = torch.randn(5, 9, generator=g), torch.randn(5, 9, generator=g)
    objective = cfg.objective(0.37)
    assert objective == Objective(phase=cfg.phase, eps=cfg.eps, sharp_eps=cfg.sharp_eps, periodic=cfg.periodic,
                                  cutoff=cfg.cutoff, scale=0.37)
    logged = utils.training.losses.vae_loss(recon, x, mu, logvar, objective=objective, alpha=cfg.alpha, beta=cfg.beta)
    per_image = objective.per_image(recon, objective.targets(x))
    assert logged["recon"].item() == pytest.approx(per_image.mean().item(), rel=1e-6)
    (g_logged,) = torch.autograd.grad(logged["recon"], recon)
    (g_objective,) = torch.autograd.grad(per_image.mean(), recon)
    torch.testing.assert_close(g_logged, g_objective)
    direct = torch.zeros(5, dtype=torch.float64)
    for width in (cfg.eps, cfg.sharp_eps):
        f, t = (spatial_statistics(a.detach().double(), eps=width, periodic=cfg.periodic) for a in (recon, x))
        if cfg.cutoff:
            f, t = cutoff_window(f, cfg.cutoff), cutoff_window(t, cfg.cutoff)
        direct = direct + ((f - t) / 0.37).square().flatten(1).sum(1)
    torch.testing.assert_close(per_image.double(), direct, rtol=1e-4, atol=1e-8)
    if cfg.periodic:           # refinement starts at z = mu: its start loss is the objective of the decoded mu
        torch.manual_seed(0)
        model = utils.training.models.build_vae(dataclasses.replace(cfg.model, image_size=32)).eval()
        refined = refine_latent(model, x[:, 0], objective=objective, steps=1, progress=False)
        with torch.no_grad():
            decoded = model.decode(model.encode(x)[0])
        torch.testing.assert_close(torch.as_tensor(refined.start_loss),
                                   objective.per_image(decoded, objective.targets(x)).double(), rtol=1e-4, atol=1e-9)
