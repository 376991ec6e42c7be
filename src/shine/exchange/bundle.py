"""A bundle: the chosen formats of one analysis data set in one folder, with its codebook and a manifest
(``manifest.json``: SHA-256 and size of every file, the data cut-off, blinded or not, the exporting user,
the source data set's fingerprint).

Folder layout: ``odm/shine-odm.xml``, ``dataset-json/<table>.json|.ndjson``, ``xpt/<sasname>.xpt``,
``stata/<table>.dta``, ``spss/<table>.sav``, ``csv/<table>.csv`` + ``csv/read_shine.R``, ``codebook.html``,
``codebook.csv``, ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from . import codebook, datasetjson, odm, rcsv, stats
from .source import open_source

FORMATS = ("odm", "dataset-json", "xpt", "stata", "spss", "csv")
WRITERS = {
    "odm": lambda src, out, created: [odm.write(src, out / "odm" / "shine-odm.xml", created=created + "+00:00")],
    "dataset-json": lambda src, out, created: datasetjson.write(src, out / "dataset-json", created=created),
    "xpt": lambda src, out, created: stats.write_xport(src, out / "xpt"),
    "stata": lambda src, out, created: stats.write_stata_spss(src, out / "stata", "dta"),
    "spss": lambda src, out, created: stats.write_stata_spss(src, out / "spss", "sav"),
    "csv": lambda src, out, created: rcsv.write(src, out / "csv"),
}


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def write_bundle(data, out_dir: str | Path, *, formats: tuple[str, ...] = FORMATS, exported_by: str = "",
                 created: str | None = None, progress=None, freeze: dict | None = None) -> dict:
    """Write ``formats`` of ``data`` (a data set folder, a loaded Dataset or a source) into ``out_dir``.

    ``progress(done, total, format)`` is called after each format. ``freeze`` (id, cut-off, SHA-256 of the
    frozen data set) goes into the manifest when the data set is a stored freeze; ``None`` there means the
    data were taken at the export's cut-off. Returns the manifest."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format {unknown[0]!r}; the formats are {', '.join(FORMATS)}")
    source = open_source(data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    created = created or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    files: list[Path] = []
    for i, fmt in enumerate(formats, 1):
        files += WRITERS[fmt](source, out, created)
        if progress is not None:
            progress(i, len(formats) + 1, fmt)
    files += codebook.write(source, out)
    manifest = {
        "trial": "SHINE",
        "created": created + "Z",
        "blinded": source.manifest.blinded,
        "data_cutoff": source.manifest.data_cutoff,
        "source": source.manifest.source,
        "exported_by": exported_by,
        "formats": list(formats),
        "freeze": freeze,
        "rows": source.manifest.rows,
        "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in sorted(files)},
    }
    folder = getattr(source, "path", None)  # a data set read from its folder (not one held in memory)
    if folder is not None:
        manifest["source_sha256"] = _sha256(Path(folder) / "dataset.json")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if progress is not None:
        progress(len(formats) + 1, len(formats) + 1, "codebook")
    return manifest
