"""Shared test fixtures: a papermill runner, the smoke pipeline run once for all notebook tests, and
a derandomised hypothesis profile (the same examples on every run, so CI cannot be flaky)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import settings

from utils.jobs import KERNEL, NOTEBOOKS, Variant, run_figures

settings.register_profile("project", derandomize=True, deadline=None)
settings.load_profile("project")

# The float32 kernels of an AVX2 and of an AVX-512 CPU round differently, so a seeded training gives the
# same bytes on one CPU kind only (measured: a 2-epoch smoke model's validation loss 0.37183 on AVX2,
# 0.37212 on AVX-512).  Seeded values are pinned per kind; a kind without a measured value is held to
# UNMEASURED_REL of the other's.
CPU_KIND = __import__("torch").backends.cpu.get_cpu_capability()     # "AVX2", "AVX512", "DEFAULT", ...
UNMEASURED_REL = 3e-2


def seeded(avx2: float | None, avx512: float | None = None, *, rel: float = 1e-4, abs: float | None = None,
           unmeasured_abs: float | None = None) -> Any:
    """``pytest.approx`` of a seeded result measured on AVX2 (``avx2``) and AVX-512 (``avx512``; None: the
    same as ``avx2``, or unmeasured when ``avx2`` is None): ``rel`` / ``abs`` on a measured kind,
    :data:`UNMEASURED_REL` (or ``unmeasured_abs``, for a count) of the other kind's value on any other.
    (The kind is ATen's dispatch; BLAS kernels may still differ within one kind: widen then, with the reason.)"""
    values = {"AVX2": avx2, "AVX512": avx2 if avx512 is None else avx512}
    if values.get(CPU_KIND) is not None:
        return pytest.approx(values[CPU_KIND], rel=rel, abs=abs)
    other = avx2 if avx2 is not None else avx512
    return pytest.approx(other, rel=UNMEASURED_REL, abs=unmeasured_abs if unmeasured_abs is not None else abs)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors on a shared 2-core machine: one torch thread for the module (OpenMP threads
    spin-waiting at each tiny FFT made gradcheck ~100x slower, measured), the old count restored
    after; also the arithmetic of the one-thread training subprocesses.  Modules ask for it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def run_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Execute ``notebooks/<name>.ipynb`` with papermill; return the executed copy's path.

    Runs with cwd = notebooks/ (as JupyterLab does), the kernel ``python3`` installed into
    the venv by ``make setup``, and the given parameters.
    """
    import papermill as pm

    def _run(name: str, **parameters: Any) -> Path:
        out = tmp_path / f"{name}.executed.ipynb"
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                            cwd=str(NOTEBOOKS), kernel_name=KERNEL, progress_bar=False)
        return out

    return _run


@pytest.fixture(scope="session")
def smoke_pipeline(tmp_path_factory) -> Variant:
    """The whole pipeline (notebooks 01-04) on the smoke profile, once per pytest run, under a
    temporary root: its data/, runs/ (executed notebooks in runs/executed/smoke/) and figures/smoke/."""
    variant = Variant("smoke", root=tmp_path_factory.mktemp("pipeline"))
    run_figures(variant, progress=False)
    return variant


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def executed(variant: Variant, name: str) -> dict:
    """The executed copy of notebook ``name`` of a pipeline run, as a dict."""
    return read_json(variant.folders.runs / "executed" / variant.profile / f"{name}.ipynb")
