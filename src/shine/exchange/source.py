"""The analysis data set as the exchange writers read it: table by table in chunks of rows, or participant by
participant across all tables, so a writer holds one chunk in memory, not the trial.

:class:`DatasetFolder` reads the folder ``shine export analysis-dataset`` (or ``shine simulate dataset``)
writes. Before any row is given out the manifest's row counts and SHA-256 are checked against the files
(hashed in blocks), so an edited table is refused rather than converted. :class:`InMemoryDataset` wraps
frames already in memory (a loaded :class:`~shine.analysis.dataset.Dataset`, or tables built in a test).

Rows come as the canonical CSV text (``text_chunks``, ``""`` for missing) or typed (``chunks``): ``str``
columns as objects with ``None`` for missing, ``int`` as ``Int64``, ``float`` as ``float64``, ``bool`` as
``boolean``, ``time`` as UTC timestamps to the second.
"""

from __future__ import annotations

import csv as csv_module
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shine.analysis.schema import SCHEMA_VERSION, TABLES, _typed_column, to_csv_bytes

CHUNK_ROWS = 5_000  # rows per chunk and table: the streamed writers hold at most one chunk of each table
BLOCK = 1 << 20


class SourceError(ValueError):
    """The data set folder cannot be exported (named file and rule in the message)."""


def _typed(name: str, text: pd.DataFrame) -> pd.DataFrame:
    table = TABLES[name]
    out = {}
    for c in table.columns:
        col = _typed_column(text[c.name], c.kind)
        if c.kind == "str":
            col = col.astype(object).where(col.notna(), None)
        out[c.name] = col
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Manifest:
    blinded: bool
    data_cutoff: str | None
    source: str
    rows: dict[str, int]


class DatasetFolder:
    def __init__(self, path: str | Path, *, chunk_rows: int = CHUNK_ROWS):
        self.path = Path(path)
        self.chunk_rows = chunk_rows
        manifest_file = self.path / "dataset.json"
        if not manifest_file.is_file():
            raise SourceError(f"{self.path}: no dataset.json (not an analysis data set folder)")
        try:
            raw = json.loads(manifest_file.read_text())
        except json.JSONDecodeError as exc:
            raise SourceError(f"{manifest_file}: not valid JSON ({exc})") from None
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise SourceError(f"dataset.json: schema_version must be {SCHEMA_VERSION}, "
                              f"got {raw.get('schema_version')!r}")
        listed = raw.get("tables") or {}
        problems = []
        for name, table in TABLES.items():
            if name not in listed:
                if not table.optional:
                    problems.append(f"dataset.json does not list the table {name}")
                continue
            csv = self.path / f"{name}.csv"
            if not csv.is_file():
                problems.append(f"{name}.csv is missing")
                continue
            sha = hashlib.sha256()
            with open(csv, "rb") as fh:
                while block := fh.read(BLOCK):
                    sha.update(block)
            if sha.hexdigest() != listed[name].get("sha256"):
                problems.append(f"{name}.csv does not match its SHA-256 in dataset.json (it was changed)")
                continue
            with open(csv, newline="", encoding="utf-8") as fh:  # records, not lines: free text may hold breaks
                count = sum(1 for _ in csv_module.reader(fh)) - 1
            if listed[name].get("rows") != count:
                problems.append(f"{name}.csv has {count} rows but dataset.json says {listed[name].get('rows')!r}")
        if problems:
            raise SourceError("; ".join(problems))
        self.manifest = Manifest(bool(raw.get("blinded")), raw.get("data_cutoff"), str(raw.get("source", "")),
                                 {n: int(listed[n]["rows"]) for n in TABLES if n in listed})

    def has(self, name: str) -> bool:
        return name in self.manifest.rows

    def text_chunks(self, name: str) -> Iterator[pd.DataFrame]:
        """The table's canonical CSV text in key order (``""`` for missing), ``chunk_rows`` rows at a time
        (at least one, possibly empty, frame)."""
        columns = list(TABLES[name].column_names)
        reader = pd.read_csv(self.path / f"{name}.csv", dtype=str, keep_default_na=False,
                             chunksize=self.chunk_rows)
        given = False
        for text in reader:
            if list(text.columns) != columns:
                raise SourceError(f"{name}.csv: columns do not match the schema")
            given = True
            yield text
        if not given:
            yield pd.DataFrame({c: pd.Series([], dtype=str) for c in columns})

    def chunks(self, name: str) -> Iterator[pd.DataFrame]:
        """The same chunks typed."""
        for text in self.text_chunks(name):
            yield _typed(name, text)


class InMemoryDataset:
    """Frames with exactly the schema's columns (a loaded data set's ``tables``)."""

    def __init__(self, tables, *, blinded: bool, data_cutoff: str | None, source: str = "export",
                 chunk_rows: int = CHUNK_ROWS):
        self.chunk_rows = chunk_rows
        self._csv = {name: to_csv_bytes(TABLES[name], frame) for name, frame in tables.items()}
        self.manifest = Manifest(blinded, data_cutoff, source,
                                 {name: int(len(frame)) for name, frame in tables.items()})

    @classmethod
    def of(cls, dataset) -> InMemoryDataset:
        """From a :class:`shine.analysis.dataset.Dataset`."""
        cutoff = None if dataset.data_cutoff is None else dataset.data_cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(dict(dataset.tables), blinded=dataset.blinded, data_cutoff=cutoff,
                   source=str(dataset.manifest.get("source", "")))

    def has(self, name: str) -> bool:
        return name in self._csv

    def text_chunks(self, name: str) -> Iterator[pd.DataFrame]:
        text = pd.read_csv(io.BytesIO(self._csv[name]), dtype=str, keep_default_na=False)
        for start in range(0, max(len(text), 1), self.chunk_rows):
            yield text.iloc[start:start + self.chunk_rows].reset_index(drop=True)

    def chunks(self, name: str) -> Iterator[pd.DataFrame]:
        for text in self.text_chunks(name):
            yield _typed(name, text)


def open_source(path_or_dataset) -> DatasetFolder | InMemoryDataset:
    if isinstance(path_or_dataset, (DatasetFolder, InMemoryDataset)):
        return path_or_dataset
    if isinstance(path_or_dataset, (str, Path)):
        return DatasetFolder(path_or_dataset)
    return InMemoryDataset.of(path_or_dataset)


def text_rows(source, name: str) -> Iterator[tuple[str, ...]]:
    """The table's rows as tuples of the canonical CSV text in column order, ``""`` for missing."""
    for chunk in source.text_chunks(name):
        yield from zip(*(chunk[c].tolist() for c in chunk.columns))


def by_participant(source, names: tuple[str, ...]) -> Iterator[tuple[tuple, dict[str, list[tuple]]]]:
    """(participant row, {table: its rows}) for each participant in key order, merging the tables' streams
    (every table is sorted by ``participant_id`` first), so memory holds one participant's rows. Rows are
    tuples of text (:func:`text_rows`)."""
    streams: dict[str, list] = {}  # table → [its row iterator, the row read ahead (None: none yet)]
    for name in names:
        if source.has(name):
            streams[name] = [text_rows(source, name), None]
    for person in text_rows(source, "participants"):
        pid = person[0]
        group: dict[str, list[tuple]] = {}
        for name, state in streams.items():
            items = group.setdefault(name, [])
            while True:
                if state[1] is None:
                    state[1] = next(state[0], False)
                row = state[1]
                if row is False or row[0] != pid:
                    break
                items.append(row)
                state[1] = None
        yield person, group
    for name, state in streams.items():
        if state[1] is None:
            state[1] = next(state[0], False)
        if state[1] is not False:
            raise SourceError(f"{name}: participant {state[1][0]!r} is not in participants (or rows are not in "
                              f"participant order)")
