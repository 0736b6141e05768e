"""Start-up to a usable window: how long `PROGRAM --screenshot` takes from launch to exit on
an empty temporary database — the receiver up, the window shown, its list loaded and painted,
the PNG saved — for the bundled program and for the source install, alternating.

    .venv/bin/python tests/bench/cold_start.py dist/tracepane/tracepane [.venv/bin/tracepane] [--runs 7]

The first run of each is reported apart (the page cache holds less of it); then the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def launch(program: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TRACEPANE_SETTINGS": f"{tmp}/settings.ini"}
        started = time.perf_counter()
        done = subprocess.run([str(program), "--screenshot", f"{tmp}/window.png", "--db", f"{tmp}/t.db",
                               "--grpc-port", "0", "--http-port", "0"], capture_output=True, text=True, env=env,
                              timeout=120)
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or not Path(f"{tmp}/window.png").exists():
            raise SystemExit(f"{program} failed: {done.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times: dict[Path, list[float]] = {program: [] for program in args.programs}
    for _ in range(args.runs):
        for program in args.programs:
            times[program].append(launch(program))
    for program, runs in times.items():
        median = statistics.median(runs) * 1000
        print(f"{program}: first {runs[0] * 1000:.0f} ms, median of {len(runs)} {median:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
