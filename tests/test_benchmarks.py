"""Smoke tests of benchmarks/: the harness runs, produces its table, and the
peers that train the same model from the same start agree. No timings."""
import dataclasses
import importlib.util
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
HAVE_CC = shutil.which("cc") is not None


def backprop_has_network():
    if importlib.util.find_spec("backprop") is None:
        return False
    import backprop

    return hasattr(backprop, "Network")


@pytest.fixture
def bench(monkeypatch):
    """The benchmark modules, imported as run.py's worker imports them."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import loss
    import peers
    import worker
    import workloads

    return loss, peers, worker, workloads


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    chosen = ["backprop", "numpy", "python"] + (["c"] if HAVE_CC else [])
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--peers", ",".join(chosen),
         "--output", str(out / "latest.md"), "--json", str(out / "results.json")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc, out, json.loads((out / "results.json").read_text())


def test_quick_run_prints_and_writes_the_table(quick_run):
    proc, out, results = quick_run
    written = (out / "latest.md").read_text()
    header = "| workload | peer | rate /s |"
    assert header in proc.stdout
    assert header in written
    assert "- command: `python " in written and "--quick" in written
    ran = [r for r in results["rows"] if r["status"] == "ok"]
    for r in ran:
        assert f"| {r['workload']} | {r['label']} |" in written
    assert {r["workload"] for r in ran} >= {"W0", "W2", "W3"}  # W1/W1x need scikit-learn
    assert not [r for r in results["rows"] if r["status"] == "failed"]


def test_quick_run_runs_every_peer_it_can(quick_run):
    _, _, results = quick_run
    peers_ran = {r["peer"] for r in results["rows"] if r["status"] == "ok"}
    assert "numpy" in peers_ran and "python" in peers_ran
    assert ("c" in peers_ran) == HAVE_CC
    assert ("c-native-float32" in {r["key"] for r in results["rows"] if r["status"] == "ok"}) == HAVE_CC
    assert ("backprop" in peers_ran) == backprop_has_network()
    skipped = {r["key"]: r["reason"] for r in results["rows"] if r["status"] == "skipped"}
    assert "too slow" in skipped["python"]  # W2 and W3


def test_quick_run_judges_the_threads_row_on_pairs(quick_run):
    _, _, results = quick_run
    rows = [r for r in results["rows"] if r["key"] == "backprop-threads" and r["status"] == "ok"]
    assert len(rows) == len([r for r in results["rows"] if r["key"] == "backprop" and r["status"] == "ok"])
    c_pairs = {r["workload"]: r for r in results["rows"] if r["key"] == "c-native-pair"}
    assert bool(c_pairs) == HAVE_CC
    for r in rows:
        assert len(r["pairs"]) == len(r["runs"])
        gain = statistics.median(2 * alone / both for alone, both in r["pairs"])
        assert f"{gain:.2f}x the throughput of one network: median of {len(r['pairs'])} pairs" in r["note"]
        c = c_pairs.get(r["workload"])
        if c and c["status"] == "ok":
            c_gain = statistics.median(2 * alone / both for alone, both in c["pairs"])
            assert len(c["pairs"]) == len(c["runs"])
            assert f"{c_gain:.2f}x the throughput of one process: median of {len(c['pairs'])}" in c["note"]
            assert f"C's pair row in this run: {c_gain:.2f}x" in r["note"]
    # the C pair row runs on the online workloads
    assert {w for w, c in c_pairs.items() if c["status"] == "ok"} == (
        {r["workload"] for r in results["rows"] if r["key"] == "c-native" and r["status"] == "ok"}
        - {"W3"})
    assert all(not r["pairs"] for r in results["rows"] if r["status"] == "ok"
               and r["key"] not in ("backprop-threads", "c-native-pair"))


def test_quick_run_same_algorithm_peers_agree(quick_run):
    _, _, results = quick_run
    # float32 rows (Row.dtype) have a reference of their own and a float32 tolerance
    for r in results["rows"]:
        if r["status"] == "ok" and r["dtype"] == "float32" and r["same_model"]:
            assert r.get("reference") or r["params_diff"] <= 1e-4, (r["workload"], r["key"])
            assert "DISAGREES" not in r["note"]
        if r["status"] == "ok" and r["key"] == "c-native-float32" and r.get("reference"):
            # the float32 reference says how far float32 training lands from float64's
            m = re.search(r"vs \S+: loss (\S+), params (\S+) apart", r["note"])
            assert m and float(m.group(2)) < 1e-4, r["note"]
    float64 = [r for r in results["rows"] if r["dtype"] == "float64"]
    for workload, rows in itertools.groupby(float64, key=lambda r: r["workload"]):
        same = [r for r in rows if r["status"] == "ok" and r["same_model"]]
        assert len(same) >= 2, workload
        for a, b in itertools.combinations(same, 2):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-12, abs=0), (workload, a["key"], b["key"])
        assert sum(bool(r.get("reference")) for r in same) == 1
        for r in same:
            assert r.get("reference") or r["params_diff"] <= 1e-12, (workload, r["key"])
            assert "DISAGREES" not in r["note"]


def test_workload_w0_is_the_worked_example(bench):
    loss, _, _, workloads = bench
    wl = workloads.get("W0")
    X, Y = workloads.make_data(wl)
    weights, biases = workloads.split(wl, workloads.initial_params(wl))
    np.testing.assert_array_equal(weights[0], [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(weights[1], [[0.40, 0.45], [0.50, 0.55]])
    assert [b.tolist() for b in biases] == [[0.35], [0.60]]
    assert loss.mean_loss(wl, workloads.initial_params(wl), X, Y) == pytest.approx(0.298371109, abs=5e-10)


@pytest.mark.parametrize("peer", ["numpy", "python", pytest.param("c", marks=pytest.mark.skipif(
    not HAVE_CC, reason="no C compiler"))])
def test_one_update_of_the_worked_example(bench, peer, tmp_path):
    """Each peer's first update is the worked example's: error 0.291027774 after
    it, and the new hidden-to-output weights of the walkthrough."""
    loss, peers, worker, workloads = bench
    wl = dataclasses.replace(workloads.get("W0"), epochs=1)
    X, Y = workloads.make_data(wl)
    params0 = workloads.initial_params(wl)
    workloads.save(tmp_path, wl, X, Y, params0)
    module = peers.load(peer)
    if hasattr(module, "build"):
        module.build(tmp_path)
    (row, *_) = module.rows(wl)
    trainer = module.Trainer(row, wl, worker.Data(X, Y, params0, tmp_path), tmp_path)
    trainer.train()
    params = trainer.params()
    assert loss.mean_loss(wl, params, X, Y) == pytest.approx(0.291027774, abs=5e-10)
    np.testing.assert_allclose(workloads.split(wl, params)[0][1],
                               [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=5e-9)


def test_unknown_names_are_refused():
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--peers", "numpy,fann"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown peer fann" in proc.stderr


@pytest.mark.skipif(not backprop_has_network(), reason="needs the backprop package importable")
def test_ab_compares_two_builds_in_pairs(tmp_path):
    import backprop

    build = str(Path(backprop.__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "ab.py"), build, build, "--workload", "R1", "--quick",
         "--pairs", "2", "--repeat", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("pair")] == [
        "pair  1 (AB)", "pair  2 (BA)"]       # the builds take turns at running first
    assert "median of the pair ratios A/B" in proc.stdout and "of 2 pairs" in proc.stdout
    assert "the two builds train the same bits" in proc.stdout
    bad = subprocess.run([sys.executable, str(BENCHMARKS / "ab.py"), build, build, "--workload", "W9"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown workload 'W9'" in bad.stderr
    online = subprocess.run([sys.executable, str(BENCHMARKS / "ab.py"), build, build, "--workload",
                             "R1", "--quick", "--row", "backprop-team2"], capture_output=True, text=True)
    assert online.returncode != 0 and "no row 'backprop-team2' on R1" in online.stderr


def quick_r1(bench, peer, tmp_path):
    """peer's module, the quick R1 workload, its data (also stored in tmp_path,
    for peers that read the files) and the peer's rows for it by key."""
    _, peers, worker, workloads = bench
    module = peers.load(peer)
    wl = workloads.get("R1", quick=True)
    X, Y = workloads.make_data(wl)
    params0 = workloads.initial_params(wl)
    workloads.save(tmp_path, wl, X, Y, params0)
    rows = {row.key: row for row in module.rows(wl)}
    return module, wl, worker.Data(X, Y, params0, tmp_path), rows


@pytest.mark.skipif(not backprop_has_network(), reason="needs the backprop package importable")
def test_threads_row_times_laps_of_fresh_networks(bench, monkeypatch, tmp_path):
    """The threads row trains lap after lap until LAP_SECONDS have passed, each
    lap on a fresh network from the common start, the two threads taking the
    laps from one queue, and reports the time per lap: every network ends where
    one network trained alone ends."""
    module, wl, data, rows = quick_r1(bench, "backprop", tmp_path)
    monkeypatch.setattr(module, "LAP_SECONDS", 0.05)
    alone = module.Trainer(rows["backprop"], wl, data, tmp_path)
    alone.train()
    pair = module.Trainer(rows["backprop-threads"], wl, data, tmp_path)
    assert pair.laps > 1 and len(pair.nets) == 2 * pair.laps    # the two threads' queue
    assert len(pair.alone) == pair.laps     # the one-thread reference, timed before each run
    assert len({id(net) for net in pair.nets + pair.alone}) == 3 * pair.laps
    seconds = pair.train()
    assert 0 < seconds < module.LAP_SECONDS
    assert pair.pair[1] == seconds and 0 < pair.pair[0] < module.LAP_SECONDS
    np.testing.assert_array_equal(pair.params(), alone.params())
    assert alone.pair is None
    pair.alone[-1].weights[0][0, 0] += 1e-9
    with pytest.raises(RuntimeError, match="differ"):
        pair.params()


@pytest.mark.skipif(not backprop_has_network(), reason="needs the backprop package importable")
def test_threads_row_raises_what_a_thread_raised(bench, monkeypatch, tmp_path):
    """A lap that fails in one of the row's threads fails the run, with that
    thread's exception, rather than leaving an untrained network behind."""
    module, wl, data, rows = quick_r1(bench, "backprop", tmp_path)
    monkeypatch.setattr(module, "LAP_SECONDS", 0.01)
    pair = module.Trainer(rows["backprop-threads"], wl, data, tmp_path)
    failing = pair.nets[-1]
    fit = pair._fit

    def fit_or_fail(net):
        if net is failing:
            raise ArithmeticError("this lap failed")
        fit(net)

    monkeypatch.setattr(pair, "_fit", fit_or_fail)
    with pytest.raises(ArithmeticError, match="this lap failed"):
        pair.train()


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler")
def test_c_pair_row_times_two_processes_started_together(bench, monkeypatch, tmp_path):
    """The C reference's pair row: laps of fresh parameters lasting LAP_SECONDS,
    one process alone, then two that start their clocks on one go-ahead and
    share the laps out through one counter; every process ends where the
    one-process row ends, bit for bit."""
    workloads = bench[-1]
    module, wl, data, rows = quick_r1(bench, "c", tmp_path)
    monkeypatch.setattr(module, "LAP_SECONDS", 0.05)
    module.build(tmp_path)
    alone = module.Trainer(rows["c-native"], wl, data, tmp_path)
    alone.train()
    assert alone.pair is None and len(alone.outs) == 1
    pair = module.Trainer(rows["c-native-pair"], wl, data, tmp_path)
    assert pair.laps > 1
    seconds = pair.train()
    assert pair.pair[1] == seconds and 0 < pair.pair[0] < module.LAP_SECONDS
    assert int.from_bytes(pair.counter.read_bytes(), "little") >= 2 * pair.laps  # all laps taken
    assert len(pair.outs) == 3 and pair.outs[0].exists()
    np.testing.assert_array_equal(pair.params(), alone.params())
    (np.fromfile(pair.outs[0]) + 1e-9).tofile(pair.outs[0])
    with pytest.raises(RuntimeError, match="different parameters"):
        pair.params()
    assert module.rows(workloads.get("W3"))[-1].skip == "online workloads only"


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler")
def test_c_reference_refuses_unknown_options(bench, tmp_path):
    _, peers, _, workloads = bench
    peers.load("c").build(tmp_path)
    wl = workloads.get("W0", quick=True)
    X, Y = workloads.make_data(wl)
    workloads.save(tmp_path, wl, X, Y, workloads.initial_params(wl))
    (tmp_path / "spec.txt").write_text(
        "layers 2\nsizes 2 2 2\nactivations logistic logistic\nloss squared\nbias shared\n"
        "train_bias 0\nlr 0.5\nepochs 1\nbatch_size 1\nsamples 1\n")
    files = [str(tmp_path / name) for name in ("spec.txt", "X.f64", "Y.f64", "params0.f64", "out.f64")]
    for option in ("laps=0", "laps=2x", "share=", "faster"):
        proc = subprocess.run([str(tmp_path / "reference-native"), *files, option],
                              capture_output=True, text=True)
        assert proc.returncode == 1 and (
            f"unknown option (expected fused, laps=N, share=COUNTER or wait): {option}" in proc.stderr)
    (tmp_path / "counter").write_bytes((5).to_bytes(8, "little"))   # laps 0-4 already taken
    for laps, trained in ((3, 3), (7, 2), (5, 0)):
        share = [] if trained == 3 else [f"share={tmp_path / 'counter'}"]
        (tmp_path / "out.f64").unlink(missing_ok=True)
        proc = subprocess.run([str(tmp_path / "reference-native"), *files, f"laps={laps}", *share],
                              capture_output=True, text=True)
        report = dict(line.split() for line in proc.stdout.splitlines())
        assert proc.returncode == 0 and int(report["laps"]) == trained
        assert float(report["end"]) - float(report["start"]) == pytest.approx(
            float(report["seconds"]), abs=1e-6)
        assert (tmp_path / "out.f64").exists() == bool(trained)


@pytest.mark.skipif(not backprop_has_network(), reason="needs the backprop package importable")
def test_a_row_that_times_pairs_always_runs_auto_repeat_times(bench, monkeypatch, tmp_path):
    """Runs that take AUTO_REPEAT_BELOW seconds or more stop after one, but a
    row judged on the median of its pairs makes its AUTO_REPEAT runs anyway."""
    _, peers, worker, workloads = bench
    monkeypatch.setattr(peers.load("backprop"), "LAP_SECONDS", 0.01)
    monkeypatch.setattr(worker, "AUTO_REPEAT_BELOW", 0.0)
    wl = workloads.get("R1", quick=True)
    X, Y = workloads.make_data(wl)
    workloads.save(tmp_path, wl, X, Y, workloads.initial_params(wl))
    alone, _ = worker.run("backprop", "backprop", tmp_path, tmp_path, None)
    threads, _ = worker.run("backprop", "backprop-threads", tmp_path, tmp_path, None)
    assert len(alone["runs"]) == 1 and not alone["pairs"]
    assert len(threads["runs"]) == len(threads["pairs"]) == worker.AUTO_REPEAT
    repeated, _ = worker.run("backprop", "backprop-threads", tmp_path, tmp_path, 2)
    assert len(repeated["pairs"]) == 2


@pytest.mark.skipif(not backprop_has_network(), reason="needs the backprop package importable")
def test_rounds_go_over_every_workload_in_turn(tmp_path):
    """With --rounds, round 2 of a workload comes after round 1 of every
    workload, and each row gathers every round's runs (the threads row's pairs)."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--peers", "backprop,numpy",
         "--workloads", "W0,R1", "--rounds", "2", "--output", str(tmp_path / "t.md"),
         "--json", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    order = [line.split()[0] for line in proc.stderr.splitlines() if line.endswith("/s")]
    # (R1 has a row more than W0: backprop float32)
    w0, r1 = order.count("W0") // 2, order.count("R1") // 2
    assert w0 > 0 and r1 > 0
    assert order == (["W0"] * w0 + ["R1"] * r1) * 2
    rows = json.loads((tmp_path / "t.json").read_text())["rows"]
    for r in rows:
        if r["key"] == "backprop-threads":
            assert len(r["pairs"]) == 2 * 3      # three runs a round (worker.AUTO_REPEAT)
