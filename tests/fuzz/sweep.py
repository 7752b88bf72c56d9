#!/usr/bin/env python3
"""Full fuzz sweep: every case of tests/fuzz/cases.py through every command, one process per run.

Outcomes per command: ok (exit 0 with a valid output), error (exit 2, one line), traceback
(any other exit or a Python traceback on stderr), hang (past --timeout), over-memory (peak RSS
over --max-mb), input-modified, partial (a temporary file left beside the output). Prints the
table, the slowest and the largest runs; `dataset convert` runs once on the folder of all cases.

Usage: python tests/fuzz/sweep.py [--n 1000] [--timeout 60] [--max-mb 2048] [--json out.json]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.cases import cases  # noqa: E402

COMMANDS = {
    "info": lambda p, o: ["info", p],
    "velocity": lambda p, o: ["velocity", "--to", "jazz", p, "-o", o + ".mid"],
    "classify": lambda p, o: ["classify", p],
    "chords": lambda p, o: ["chords", "--inspire", p, "--style", "classical", "--seconds", "5", "--seed", "0", "-o", o + ".mid"],
    "render": lambda p, o: ["render", p, "-o", o + ".wav"],
    "plot": lambda p, o: ["plot", p, "-o", o + ".png", "--seconds", "30"],
}


#: The command line, reporting its own peak RSS (kB) on a last stderr line.
WRAPPER = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
           "'\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); "
           "from midistyle.cli import main; sys.argv = ['midistyle'] + sys.argv[1:]; sys.exit(main())")


def run(argv, timeout):
    t0 = time.time()
    try:
        r = subprocess.run([sys.executable, "-c", WRAPPER, *map(str, argv)], capture_output=True, text=True,
                           timeout=timeout)
        rc, err = r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        return "hang", "", time.time() - t0, None
    lines = err.rstrip("\n").split("\n")
    peak = None
    if lines and lines[-1].startswith("MAXRSS "):
        peak = int(lines[-1].split()[1]) / 1024
        err = "\n".join(lines[:-1]).strip("\n") + "\n"
    return rc, err, time.time() - t0, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--max-mb", type=float, default=2048)
    ap.add_argument("--commands", nargs="+", default=list(COMMANDS))
    ap.add_argument("--json")
    args = ap.parse_args()
    table = {c: {} for c in args.commands + ["dataset convert"]}
    slow = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = cases(Path(tmp) / "cases", args.n)
        outdir = Path(tmp) / "out"
        outdir.mkdir()
        for c in args.commands:
            for k, p in enumerate(paths):
                h = hashlib.md5(p.read_bytes()).hexdigest()
                rc, err, secs, peak = run(COMMANDS[c](p, str(outdir / f"{c}{k}")), args.timeout)
                if rc == "hang":
                    kind = "hang"
                elif "Traceback" in err or rc not in (0, 2):
                    kind = "traceback"
                elif rc == 2 and len(err.strip().splitlines()) != 1:
                    kind = "error, not one line"
                else:
                    kind = "ok" if rc == 0 else "error"
                if peak is not None and peak > args.max_mb:
                    kind = "over-memory"
                if hashlib.md5(p.read_bytes()).hexdigest() != h:
                    kind = "input-modified"
                if any("tmp" in q.name for q in outdir.iterdir()):
                    kind = "partial"
                table[c][kind] = table[c].get(kind, 0) + 1
                slow.append((secs, c, p.name, kind, peak))
        rc, err, secs, _ = run(["dataset", "convert", Path(tmp) / "cases", "--genre", "x", "-o", outdir / "d.h5",
                                "--quiet"], args.timeout * 5)
        table["dataset convert"] = {"exit": rc, "seconds": round(secs, 1), "stderr_lines": len(err.splitlines()),
                                    "traceback": "Traceback" in err}
    big = sorted(slow, key=lambda r: -(r[4] or 0))[:5]
    slow.sort(key=lambda r: -r[0])
    print(json.dumps(table, indent=1))
    print("slowest:", [(round(s, 2), c, n, k) for s, c, n, k, _ in slow[:5]])
    print("largest (MB):", [(round(m or 0), c, n, k) for _, c, n, k, m in big])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"table": table, "slowest": slow[:20]}, fh, indent=1)


if __name__ == "__main__":
    main()
