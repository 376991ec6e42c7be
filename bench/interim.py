"""Benchmark: both interim reports (open and closed) for 200 and for 380 participants with day-90 follow-up.

Generates a data set of each size with ``shine.simulation`` (every participant past day 90), codes it A/B,
then times ``shine.analysis.interim.run`` + ``write`` (derive, primary ANCOVA, pooled and by-arm tables, HTML
and JSON, manifests; best of ``--repeat``). The database part of a run (checking the freeze's hashes and
reading the A/B key) is not included. Run: ``.venv/bin/python bench/interim.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from shine.analysis import interim
    from shine.analysis.dataset import load
    from shine.simulation import generate_dataset

    for n in (200, 380):
        with tempfile.TemporaryDirectory() as tmp:
            generate_dataset(n, 11).write(Path(tmp) / "data", parquet=False)
            unblinded = load(Path(tmp) / "data")
            data = unblinded.blind(b"bench")
            arm = dict(zip(unblinded["participants"]["participant_id"], unblinded["participants"]["arm"], strict=True))
            p = data["participants"]
            key = {c: arm[p.loc[p["arm"] == c, "participant_id"].iloc[0]] for c in ("A", "B")}
            best = float("inf")
            for k in range(args.repeat):
                t0 = time.perf_counter()
                report = interim.run(data, key, freeze={"id": 0, "data_cutoff": "bench", "sha256": data.sha256})
                interim.write(report, Path(tmp) / f"out{k}")
                best = min(best, time.perf_counter() - t0)
            analysed = report.closed["interim"]["n_analysed"]
            print(f"n = {n:>3} randomised ({analysed} analysed, {len(data['daily'])} daily rows): "
                  f"both reports in {best:.2f} s (best of {args.repeat})")


if __name__ == "__main__":
    main()
