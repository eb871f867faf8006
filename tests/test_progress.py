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


def test_text_bars_write_to_stdout_and_leave_out_the_inner_ones(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "text")
    for _ in progress_bar(range(2), desc="outer"):
        for _ in progress_bar(range(3), desc="inner", leave=False):
            pass
    out, err = capsys.readouterr()
    assert "outer" in out and "2/2" in out      # the executed notebook keeps a plain line, not a stderr box
    assert "inner" not in out + err and err == ""
