"""`train velocity --strategy multiworker`: two worker processes on localhost (TF_CONFIG each, free
ports picked at run time) train a tiny model together; the chief writes it, the other worker leaves
nothing behind."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import test_training
from conftest import REPO
from midistyle.errors import InputError
from midistyle.nn.distributed import is_chief, tf_config, worker_path
from midistyle.codec.pianoroll import encode
from midistyle.velocity import VelocityModel

tiny_data = test_training.tiny_data        # the fixture: 3 + 3 TPD files, converted
FLAGS = ["--genre", "jazz", "--epochs", "2", "--max-steps-per-epoch", "3", "--window", "128", "--batch-size", "4",
         "--channels", "8", "--cond-channels", "8", "--val-windows", "1", "--quiet", "--strategy", "multiworker"]
TIMEOUT = 300


def free_ports(n: int) -> list:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cluster(ports: list, index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _die_with_parent():
    """In the child: SIGKILL when the test process dies, however it dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


@contextlib.contextmanager
def processes(cmds: list):
    """Start ``(argv, env, log stem)`` each in its own session (stdout and stderr to STEM.out /
    STEM.err); on leaving, also on SIGINT / SIGTERM to the test, kill every one still running, so
    no worker outlives the test."""
    procs = []

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        for argv, env, stem in cmds:
            with open(f"{stem}.out", "w") as so, open(f"{stem}.err", "w") as se:
                procs.append(subprocess.Popen(argv, env=env, cwd=REPO, stdout=so, stderr=se,
                                              start_new_session=True, preexec_fn=_die_with_parent))
        yield procs
    finally:
        signal.signal(signal.SIGTERM, old)
        for p in procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run_workers(argv: list, n: int, tmp, logs) -> list:
    """Run ``argv`` as workers 0..n-1 of one localhost cluster (temporary files under ``tmp``,
    output to files under ``logs``): ``[(returncode, stdout, stderr)]``. The first failure, or
    the timeout, ends the others."""
    ports = free_ports(n)
    base = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    cmds = [(argv, {**base, "TF_CONFIG": cluster(ports, i), "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(tmp)},
             logs / f"worker{i}") for i in range(n)]
    with processes(cmds) as procs:
        t_end = time.time() + TIMEOUT
        while any(p.poll() is None for p in procs):
            if time.time() > t_end or any(p.poll() not in (None, 0) for p in procs):
                break
            time.sleep(0.2)
    return [(p.returncode, (logs / f"worker{i}.out").read_text(), (logs / f"worker{i}.err").read_text())
            for i, p in enumerate(procs)]


def test_two_workers_train_velocity_and_only_the_chief_writes(tiny_data):
    out, tmp, logs = tiny_data / "mw", tiny_data / "mw-tmp", tiny_data / "mw-logs"
    for d in (out, tmp, logs):
        d.mkdir()
    model = out / "m.keras"
    t0 = time.time()
    res = run_workers([sys.executable, "-m", "midistyle", "train", "velocity", str(tiny_data / "tiny.h5"),
                       "-o", str(model), *FLAGS], 2, tmp, logs)
    wall = time.time() - t0
    for i, (rc, so, se) in enumerate(res):
        assert rc == 0, f"worker {i} exit {rc}:\n{so[-1000:]}\n{se[-3000:]}"
    (_, chief_out, _), (_, other_out, _) = res
    assert f"wrote {model}" in chief_out
    assert f"the chief writes {model}" in other_out

    # only the chief's bundle at the output; the other worker's temporary folder is gone
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.keras", "m.log.csv", "m.loss.png", "m.npz"]
    assert list(tmp.iterdir()) == []
    meta = json.loads((out / "m.json").read_text())
    assert meta["strategy"] == "multiworker" and meta["training"]["epochs_run"] == 2
    hist = meta["training"]["history"]
    assert {"loss", "logits_loss", "mean_loss", "val_loss", "val_logits_loss", "val_mean_loss",
            "learning_rate"} <= set(hist) and all(len(v) == 2 and np.isfinite(v).all() for v in hist.values())
    assert len((out / "m.log.csv").read_text().strip().splitlines()) == 3
    # both workers saw the same numbers (reduced over the cluster)
    final = re.search(r"loss (\S+), val_loss (\S+);", other_out)
    assert final and [float(final[1]), float(final[2])] == pytest.approx([hist["loss"][-1], hist["val_loss"][-1]],
                                                                          rel=1e-5)

    vm = VelocityModel.load(str(model))
    roll = encode(REPO / "examples" / "anthropology.mid", vm.settings)
    v = vm.sample(roll, seed=0)[roll.in_range()]
    assert 1 <= v.min() and v.max() <= 127 and np.isfinite(v).all()
    print(f"two-worker velocity training: {wall:.1f} s")


def test_tf_config_is_checked_and_names_the_chief():
    ok = cluster([1111, 2222], 1)
    assert tf_config({"TF_CONFIG": ok})["task"]["index"] == 1
    assert is_chief({}) and is_chief({"TF_CONFIG": cluster([1111, 2222], 0)}) and not is_chief({"TF_CONFIG": ok})
    with_chief = json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}})
    assert not is_chief({"TF_CONFIG": with_chief})
    for bad, why in [("", "not set"), ("{", "not JSON"), ('{"task": {"type": "worker", "index": 0}}', "no cluster"),
                     ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
                     (cluster([1, 2], 2), "not one of its cluster's")]:
        with pytest.raises(InputError, match=why):
            tf_config({"TF_CONFIG": bad})


def test_worker_path_keeps_the_chief_path_and_cleans_up_elsewhere(tmp_path):
    target = str(tmp_path / "m.keras")
    with worker_path(target, {"TF_CONFIG": cluster([1, 2], 0)}) as p:
        assert p == target
    with worker_path(target, {"TF_CONFIG": cluster([1, 2], 1)}) as p:
        assert p != target and os.path.basename(p) == "m.keras"
        open(p, "w").close()
        open(p + ".json", "w").close()
    assert not os.path.exists(os.path.dirname(p)) and not os.path.exists(target)
