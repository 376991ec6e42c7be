"""Benchmark: the full ``shine analyse`` on a 380-patient and a 3,800-patient data set.

Generates both data sets (with the trial simulator ``shine.simulation`` when present, else the analysis
tests' small generator), then for each size times ``shine analyse`` end to end (load and validate,
derive, analyse, figures, report; best of ``--repeat`` runs) and measures its peak traced memory
(tracemalloc, in a separate untimed run). The 380-patient run is the baseline; the ratios show how cost
grows with trial size. Run: ``.venv/bin/python bench/analysis.py``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(n: int, out: Path, seed: int) -> tuple[Path, str]:
    try:
        from shine.simulation.patients import generate_dataset
    except ImportError:
        sys.path.insert(0, str(ROOT))
        from tests.analysis import synthetic

        return synthetic.write(out, n=n, seed=seed), "tests/analysis/synthetic.py"
    return generate_dataset(n, seed).write(out, parquet=False), "shine.simulation"


def analyse(data: Path, out: Path) -> None:
    import contextlib
    import io

    from shine.analysis import cli

    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main([str(data), "--population", "itt", "--out", str(out)])
    if status != 0:
        raise SystemExit("shine analyse failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[380, 3800])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm, _ = make_dataset(40, tmp / "warm", 1)
        analyse(warm, tmp / "warm_out")  # imports and font cache outside the timings
        for n in args.sizes:
            data, source = make_dataset(n, tmp / f"d{n}", 7)
            daily_rows = sum(1 for _ in open(data / "daily.csv")) - 1
            times = []
            for k in range(args.repeat):
                t0 = time.perf_counter()
                analyse(data, tmp / f"out{n}_{k}")
                times.append(time.perf_counter() - t0)
            tracemalloc.start()
            analyse(data, tmp / f"out{n}_traced")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append((n, daily_rows, min(times), peak / 2 ** 20, rss))
            print(f"n = {n:5d} ({daily_rows} daily rows, data from {source}): shine analyse {min(times):6.2f} s "
                  f"(best of {args.repeat}), peak traced memory {peak / 2 ** 20:7.1f} MiB, process max RSS so far "
                  f"{rss:7.1f} MiB", flush=True)
    base = rows[0]
    for n, _, t, mem, _ in rows[1:]:
        print(f"ratio n = {n} / n = {base[0]} (baseline, same process): time × {t / base[2]:.2f}, "
              f"peak traced memory × {mem / base[3]:.2f}, patients × {n / base[0]:.1f}")


if __name__ == "__main__":
    main()
