"""The progress bar the training loop drives between compiled chunks."""
import io
import sys

import numpy as np
import pytest

from backprop._progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)     # "import tqdm" now raises ImportError


def test_bar_shows_count_and_running_loss():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    with Progress(True, 1_000_000, desc="epoch 1", file=out) as bar:
        assert bar.enabled
        bar.update(400_000, 0.25)
        bar.update(1_000_000, 0.0123456)
    text = out.getvalue()
    assert "epoch 1" in text
    assert "1.00M/1.00M" in text and "100%" in text
    assert "loss=0.01235" in text
    assert text.endswith("\n")


def test_update_takes_absolute_counts_and_optional_loss():
    pytest.importorskip("tqdm")
    bar = Progress(True, np.int64(50), file=io.StringIO())
    bar.update(np.int64(20), np.float64(1.5))
    bar.update(35)
    assert bar._bar.n == 35 and bar._bar.total == 50
    assert bar._bar.postfix == "loss=1.5"
    bar.close()


def test_disabled_does_nothing_even_without_tqdm(no_tqdm):
    out = io.StringIO()
    with Progress(False, 100, file=out) as bar:
        assert not bar.enabled
        bar.update(50, 0.5)
    assert out.getvalue() == ""


def test_auto_shows_a_bar_only_on_a_terminal():
    pytest.importorskip("tqdm")
    piped, terminal = io.StringIO(), Terminal()
    with Progress("auto", 10, file=piped) as bar:
        assert not bar.enabled
        bar.update(10, 0.1)
    with Progress("auto", 10, file=terminal) as bar:
        assert bar.enabled
        bar.update(10, 0.1)
    assert piped.getvalue() == ""
    assert "10/10" in terminal.getvalue()


def test_auto_without_tqdm_shows_nothing(no_tqdm):
    terminal = Terminal()
    with Progress("auto", 10, file=terminal) as bar:
        assert not bar.enabled
    assert terminal.getvalue() == ""


def test_missing_tqdm_names_the_extra(no_tqdm):
    with pytest.raises(ImportError, match=r"pip install 'cybackprop\[progress\]'"):
        Progress(True, 10, file=io.StringIO())


@pytest.mark.parametrize("enabled", ["yes", 1, None])
def test_bad_enabled_values_are_refused(enabled):
    with pytest.raises(ValueError, match="progress must be True, False or 'auto'"):
        Progress(enabled, 10)


@pytest.mark.parametrize("total", [-1, 2.5, True, "10"])
def test_bad_totals_are_refused(total):
    with pytest.raises(ValueError, match="total_samples must be a non-negative integer"):
        Progress(False, total)
