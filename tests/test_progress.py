"""Headless notebooks get text progress bars (papermill streams them), JupyterLab gets tqdm.auto."""
from tqdm import tqdm as text_tqdm

from utils.progress import ENV_VAR, progress_bar


def test_text_bars_when_the_pipeline_asks(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "text")
    bar = progress_bar(range(3), disable=True)
    assert type(bar) is text_tqdm and list(bar) == [0, 1, 2]


def test_auto_bars_otherwise(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    from tqdm.auto import tqdm as auto_tqdm
    assert type(progress_bar(range(3), disable=True)) is auto_tqdm
