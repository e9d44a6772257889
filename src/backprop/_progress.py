"""A progress bar for training runs, advanced by the training loop between
compiled chunks (never per sample)."""
import numbers
import sys

AUTO = "auto"


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError("progress bars need tqdm, which is not installed: "
                          "pip install 'cybackprop[progress]' (or pip install tqdm)") from None
    return tqdm


class Progress:
    """A bar over ``total_samples`` samples showing the running loss.

    Progress(enabled, total_samples, desc="train", file=None)

    enabled:       True shows a tqdm bar (the optional ``progress`` extra; an
                   ImportError says how to install it if it is missing); False
                   does nothing at all; ``"auto"`` shows a bar only when ``file``
                   is a terminal and tqdm is installed
    total_samples: samples the run will visit (epochs × samples per epoch)
    desc:          the bar's label
    file:          where the bar is written (default: ``sys.stderr``)

    ``update(samples_done, loss)`` sets the absolute count of samples done and
    shows ``loss`` in the bar; ``close()`` finishes the bar.  Also a context
    manager, which closes the bar on exit.
    """

    def __init__(self, enabled, total_samples, desc="train", file=None):
        if not (isinstance(enabled, bool) or enabled == AUTO):
            raise ValueError(f"progress must be True, False or {AUTO!r}, got {enabled!r}")
        if (isinstance(total_samples, bool) or not isinstance(total_samples, numbers.Integral)
                or total_samples < 0):
            raise ValueError(f"total_samples must be a non-negative integer, got {total_samples!r}")
        total_samples = int(total_samples)
        self._bar = None
        if enabled is False:
            return
        file = sys.stderr if file is None else file
        if enabled == AUTO:
            is_terminal = getattr(file, "isatty", None)
            if not (is_terminal and is_terminal()):
                return
            try:
                tqdm = _tqdm()
            except ImportError:
                return
        else:
            tqdm = _tqdm()
        # k/M suffixes only where they shorten the counts ("1.00M", not "10.0")
        self._bar = tqdm(total=total_samples, desc=desc, unit="sample",
                         unit_scale=total_samples >= 10_000, dynamic_ncols=True, file=file)

    @property
    def enabled(self):
        """Whether a bar is shown."""
        return self._bar is not None

    def update(self, samples_done, loss=None):
        """Advance the bar to ``samples_done`` samples; show the running ``loss``."""
        if self._bar is None:
            return
        if loss is not None:
            self._bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
        self._bar.update(samples_done - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
