"""Quick fuzz subset: damaged and odd inputs through `info`, `velocity` and `plot` (in process).

Every case must end with exit 0 and a valid output, or exit 2 with one line on stderr; never an
exception, never a changed input, never a temporary file left behind. The generator is
tests/fuzz/cases.py; tests/fuzz/sweep.py runs the full sweep (one process per run, time and
memory caps) and prints the outcome table per command.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import signal

import pytest

from midistyle.cli import main

from fuzz.cases import cases

N_CASES = 100


@pytest.fixture(scope="module")
def fuzz_inputs(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("fuzz"), N_CASES)


def _run(argv, seconds=60):
    def alarm(*_):
        raise TimeoutError(f"{argv} ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as exc:          # argparse
                rc = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return rc, err.getvalue()


@pytest.mark.parametrize("command", ["info", "velocity", "plot"])
def test_fuzz_inputs_never_crash(command, fuzz_inputs, tmp_path):
    outcomes = {0: 0, 2: 0}
    for k, path in enumerate(fuzz_inputs):
        before = hashlib.md5(path.read_bytes()).hexdigest()
        out = tmp_path / f"out{k}.{'png' if command == 'plot' else 'mid'}"
        argv = {"info": ["info", path], "velocity": ["velocity", "--to", "jazz", path, "-o", out],
                "plot": ["plot", path, "-o", out, "--seconds", "30"]}[command]
        rc, err = _run(argv)
        assert rc in (0, 2), (path.name, rc, err)
        if rc == 2:
            assert len(err.strip().splitlines()) == 1 and err.startswith("midistyle: error:"), (path.name, err)
        elif command != "info":
            assert out.exists() and out.stat().st_size > 0, path.name
        outcomes[rc] += 1
        assert hashlib.md5(path.read_bytes()).hexdigest() == before, path.name
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]
    assert outcomes[0] > 5 and outcomes[2] > 5, outcomes        # both kinds of case are exercised
