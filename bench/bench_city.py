"""Benchmark the synthetic-city generator: wall time, rows per second and peak memory per scale.

Each scale runs in a child process so its peak RSS (ru_maxrss from wait4) is its own.

    .venv/bin/python bench/bench_city.py --scales district,province [--seed N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
from miaopi.city import generate_city

marks = {}
def progress(label, done, total):
    marks.setdefault(label, [time.perf_counter(), 0.0])[1] = time.perf_counter()

started = time.perf_counter()
manifest = generate_city(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), progress)
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "rows": sum(manifest.rows.values()),
    "enterprises": manifest.enterprises,
    "people": manifest.people,
    "passes": {label: end - start for label, (start, end) in marks.items()},
}))
"""


def run_scale(scale: str, seed: int, out: Path) -> dict[str, object]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), scale, str(seed)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"generating {scale} failed with exit code {child.returncode}")
    result: dict[str, object] = json.loads(output)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["disk_mib"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="district", help="comma-separated: demo,district,city,province")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--keep", type=Path, help="keep the generated data under this folder")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_city_"))
    header = f"{'scale':<10}{'enterprises':>13}{'people':>13}{'rows':>14}{'seconds':>10}{'rows/s':>12}"
    print(header + f"{'peak RSS MiB':>14}{'disk MiB':>10}  passes (s)")
    try:
        for scale in args.scales.split(","):
            out = root / scale
            if out.exists():
                shutil.rmtree(out)
            started = time.perf_counter()
            r = run_scale(scale, args.seed, out)
            seconds = time.perf_counter() - started
            passes = ", ".join(f"{label} {value:.1f}" for label, value in r["passes"].items())  # type: ignore[attr-defined]
            print(
                f"{scale:<10}{r['enterprises']:>13,}{r['people']:>13,}{r['rows']:>14,}{seconds:>10.1f}"
                f"{r['rows'] / seconds:>12,.0f}{r['peak_rss_mib']:>14,.0f}{r['disk_mib']:>10,.0f}  {passes}",  # type: ignore[operator]
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(out)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
