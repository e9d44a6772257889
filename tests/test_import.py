"""Import hygiene: importing backprop defines things and does nothing else.

Each check runs in a fresh interpreter, so that no earlier import of backprop
(or of the tests' dependencies) hides what the import itself does.
"""
import json
import subprocess
import sys
import textwrap

import pytest

# Records the process-wide state that a library could change on import.  numpy
# is imported first: its own import (OpenBLAS threads, say) is not backprop's.
STATE = textwrap.dedent("""
    import faulthandler, gc, json, logging, os, signal, sys, threading, warnings
    import numpy as np

    def os_threads():
        try:
            return len(os.listdir("/proc/self/task"))
        except OSError:
            return None

    def state():
        rng = np.random.get_state()
        return {
            "numpy print options": {k: repr(v) for k, v in np.get_printoptions().items()},
            "numpy error handling": np.geterr(),
            "numpy global random state": [rng[0], rng[1].tolist(), *rng[2:]],
            "warnings filters": [repr(f) for f in warnings.filters],
            "signal handlers": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals()
                                if isinstance(s, signal.Signals)},
            "recursion limit": sys.getrecursionlimit(),
            "switch interval": sys.getswitchinterval(),
            "environment": dict(os.environ),
            "working directory": os.getcwd(),
            "excepthook": repr(sys.excepthook),
            "displayhook": repr(sys.displayhook),
            "gc": [gc.isenabled(), gc.get_threshold()],
            "faulthandler": faulthandler.is_enabled(),
            "logging": [repr(logging.root.handlers), logging.root.level],
            "python threads": [t.name for t in threading.enumerate()],
            "os threads": os_threads(),
        }

    before = state()
    import backprop
    after = state()
    print(json.dumps({k: [before[k], after[k]] for k in before}))
""")


def run(code, *flags):
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True)


def test_import_prints_nothing_and_warns_nothing():
    result = run("import backprop", "-W", "error")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_import_changes_no_global_state_and_starts_no_threads():
    result = run(STATE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    changed = {k: v for k, v in json.loads(result.stdout).items() if v[0] != v[1]}
    assert changed == {}


@pytest.mark.parametrize("module", ["backprop._core", "backprop.network", "backprop.examples"])
def test_submodules_import_quietly_on_their_own(module):
    result = run(f"import {module}", "-W", "error")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
