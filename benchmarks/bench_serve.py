#!/usr/bin/env python3
"""Benchmark: the studio (`midistyle serve`) over HTTP on a ~5-minute piece.

Measures (a) start-up: from launching `python -m midistyle serve --port 0` until GET / answers 200
(median of --starts), (b) restyle latency: POST /api/velocity with audio=0 (the answer comes after
the MIDI and the compare PNG are written; the first request is shown apart as "cold"), median of
--repeat, and (c) audio: from the POST with audio=1 until both background renders are done
(median of --audio-repeat). Also the server's peak memory (VmRSS sampled from /proc) and whether
TensorFlow got loaded into the server process (/proc/PID/maps).
Usage: python benchmarks/bench_serve.py [FILE.mid] [--genre classical] [--repeat 5]
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "tpd", "jazz", "merryxmas.mid")


class Server:
    """`python -m midistyle serve --port 0` with its own TMPDIR; ``url`` once it printed it."""

    def __init__(self, tmp):
        os.makedirs(tmp, exist_ok=True)
        self.out_path = os.path.join(tmp, "stdout")
        self.out, self.err = open(self.out_path, "wb"), open(os.path.join(tmp, "stderr"), "wb")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "midistyle", "serve", "--port", "0", "--quiet"], cwd=ROOT,
                                     env={**os.environ, "TMPDIR": tmp}, stdout=self.out, stderr=self.err)
        self.peak_rss = 0
        self._done = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()
        while True:
            m = re.search(r"midistyle studio: (http://\S+?)/?\s", open(self.out_path, errors="replace").read())
            if m:
                self.url, self.t_line = m.group(1), time.perf_counter() - self.t0
                break
            if self.proc.poll() is not None or time.perf_counter() - self.t0 > 60:
                sys.exit(f"the studio did not start: {open(os.path.join(tmp, 'stderr')).read()}")
            time.sleep(0.01)
        while True:
            try:
                if requests.get(self.url + "/", timeout=10).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.01)
        self.t_ready = time.perf_counter() - self.t0

    def _sample(self):
        while not self._done.is_set():
            try:
                with open(f"/proc/{self.proc.pid}/status") as fh:
                    kb = int(re.search(r"^VmRSS:\s+(\d+)", fh.read(), re.M).group(1))
                self.peak_rss = max(self.peak_rss, kb * 1024)
            except (OSError, AttributeError):
                return
            self._done.wait(0.05)

    def tensorflow_loaded(self) -> bool:
        with open(f"/proc/{self.proc.pid}/maps") as fh:
            return "tensorflow" in fh.read()

    def post(self, path, genre, seed, audio):
        with open(path, "rb") as fh:
            r = requests.post(self.url + "/api/velocity", files={"file": (os.path.basename(path), fh)},
                              data={"to": genre, "seed": str(seed), "audio": str(audio)}, timeout=600)
        if r.status_code != 200:
            sys.exit(f"POST /api/velocity answered {r.status_code}: {r.text}")
        return r.json()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        self._done.set()
        self.out.close()
        self.err.close()


def piece_info(path):
    from midistyle.codec import io as mio

    perf = mio.read(path)
    return perf.duration, len(perf.notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--genre", default="classical")
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--audio-repeat", type=int, default=3)
    args = ap.parse_args()
    duration, notes = piece_info(args.file)
    with tempfile.TemporaryDirectory() as tmp:
        starts, lines = [], []
        for k in range(args.starts):
            s = Server(os.path.join(tmp, f"s{k}"))
            starts.append(s.t_ready)
            lines.append(s.t_line)
            if k < args.starts - 1:
                s.stop()
        t0 = time.perf_counter()
        s.post(args.file, args.genre, 0, 0)
        cold = time.perf_counter() - t0
        lat = []
        for k in range(args.repeat):
            t0 = time.perf_counter()
            s.post(args.file, args.genre, k + 1, 0)
            lat.append(time.perf_counter() - t0)
        answers, audio = [], []
        for k in range(args.audio_repeat):
            t0 = time.perf_counter()
            d = s.post(args.file, args.genre, k, 1)
            answers.append(time.perf_counter() - t0)
            while True:
                st = requests.get(s.url + d["status"], timeout=30).json()
                if st["done"]:
                    break
                time.sleep(0.05)
            audio.append(time.perf_counter() - t0)
            bad = {k: v for k, v in st["audio"].items() if v["state"] != "done"}
            if bad:
                sys.exit(f"audio render failed: {bad}")
        tf = s.tensorflow_loaded()
        s.stop()
    print(f"input            {os.path.basename(args.file)}: {duration:.0f} s ({duration / 60:.1f} min), {notes} notes, "
          f"to {args.genre}")
    print(f"start-up         {statistics.median(starts):.2f} s median of {len(starts)} until GET / is 200 "
          f"(URL line after {statistics.median(lines):.2f} s; all: {', '.join(f'{t:.2f}' for t in starts)})")
    print(f"restyle audio=0  {statistics.median(lat):.2f} s median of {len(lat)} (min {min(lat):.2f}, max {max(lat):.2f}); "
          f"first request (cold) {cold:.2f} s  [MIDI + compare PNG]")
    print(f"restyle audio=1  answer {statistics.median(answers):.2f} s, both renders done after "
          f"{statistics.median(audio):.2f} s median of {len(audio)} (all: {', '.join(f'{t:.2f}' for t in audio)})")
    print(f"server memory    {s.peak_rss / 2 ** 20:.0f} MiB peak RSS")
    print(f"tensorflow       {'loaded' if tf else 'not loaded'} in the server process (/proc/PID/maps)")


if __name__ == "__main__":
    main()
