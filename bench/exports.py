"""Benchmark of the exchange formats (issue 20): time and peak memory of each format for simulated trials of
380, 3,800 and 38,000 participants, all on this machine.

Each format is written in a fresh child process so its peak memory is its own: the child's high-water resident
set (``VmHWM``) less its resident set when it started writing (``VmRSS``), i.e. what writing that format
added. The
baseline, in the same process, is reading every table of the same data set once with pandas (the least any
export must do). Ratios are against the smallest size: a streamed writer's memory stays flat while its time
grows with the participants; a writer that holds a table grows with it.

Run: .venv/bin/python bench/exports.py [--sizes 380,3800,38000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

from shine.exchange import codebook, datasetjson, odm, rcsv, stats
from shine.exchange.source import DatasetFolder
from shine.simulation.patients import DatasetParameters, generate_dataset

FORMATS = {
    "baseline: read every CSV": lambda s, out: [sum(len(c) for c in s.text_chunks(n)) for n in s.manifest.rows],
    "odm": lambda s, out: odm.write(s, out / "odm.xml"),
    "dataset-json": lambda s, out: datasetjson.write(s, out / "dsj"),
    "xpt": lambda s, out: stats.write_xport(s, out / "xpt"),
    "stata": lambda s, out: stats.write_stata_spss(s, out / "dta", "dta"),
    "spss": lambda s, out: stats.write_stata_spss(s, out / "sav", "sav"),
    "csv + R": lambda s, out: rcsv.write(s, out / "csv"),
    "codebook": lambda s, out: codebook.write(s, out / "book"),
}


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(name: str, folder: str, out: str, queue) -> None:
    start_rss = _kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
    source = DatasetFolder(folder)
    t0 = time.perf_counter()
    FORMATS[name](source, Path(out))
    seconds = time.perf_counter() - t0
    queue.put((seconds, (_kib("VmHWM") - start_rss) / 1024))


def measure(name: str, folder: Path, out: Path) -> tuple[float, float]:
    # a fresh process, not a fork: a forked child reuses the parent's freed heap without growing its resident set
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(name, str(folder), str(out), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="380,3800,38000")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated names of FORMATS")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    chosen = ["baseline: read every CSV", *[f for f in args.formats.split(",") if f in FORMATS and
                                            not f.startswith("baseline")]]
    results: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in chosen}
    with tempfile.TemporaryDirectory(prefix="shine-bench-exports-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"data-{n}"
            t0 = time.perf_counter()
            # recruitment over about 3.5 years at every size (the default rate is the trial's own, 0.3 a day)
            parameters = DatasetParameters(patients_per_day=max(0.3, n / 1270))
            generate_dataset(n, 20, parameters=parameters).write(folder, parquet=False)
            rows = DatasetFolder(folder).manifest.rows
            print(f"{n:,} participants simulated in {time.perf_counter() - t0:.1f} s: {rows['daily']:,} daily rows, "
                  f"{sum(rows.values()):,} rows in all")
            for name in chosen:
                out = Path(tmp) / f"out-{n}"
                out.mkdir(exist_ok=True)
                results[name][n] = measure(name, folder, out)
                seconds, mib = results[name][n]
                print(f"   {name:26s} {seconds:8.2f} s   peak +{mib:8.1f} MiB")
    base = sizes[0]
    print(f"\nratios against {base:,} participants (time / peak memory) and time against the baseline read")
    for name in chosen:
        cells = []
        for n in sizes[1:]:
            seconds, mib = results[name][n]
            s0, m0 = results[name][base]
            read = results["baseline: read every CSV"][n][0]
            cells.append(f"{n:,}: {seconds / s0:6.1f}x time, {mib / max(m0, 0.1):6.1f}x memory, "
                         f"{seconds / read:5.1f}x read")
        print(f"   {name:26s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
