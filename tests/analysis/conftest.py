"""Fixtures of the analysis tests: small generated data sets and a way to break them on purpose."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.analysis import synthetic


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A valid 40-participant data set (read-only: copy it before editing)."""
    return synthetic.write(tmp_path_factory.mktemp("small"), n=40, seed=11)


@pytest.fixture
def editable(small_dataset, tmp_path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    return out


def edit_table(path: Path, table: str, fn) -> None:
    """Apply ``fn`` to the table's text cells and rewrite the CSV, keeping the manifest consistent."""
    csv = path / f"{table}.csv"
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame = fn(frame)
    data = frame.to_csv(index=False, lineterminator="\n").encode()
    csv.write_bytes(data)
    manifest = json.loads((path / "dataset.json").read_text())
    manifest["tables"][table] = {"rows": len(frame), "sha256": hashlib.sha256(data).hexdigest()}
    (path / "dataset.json").write_text(json.dumps(manifest))


def edit_manifest(path: Path, fn) -> None:
    manifest = json.loads((path / "dataset.json").read_text())
    fn(manifest)
    (path / "dataset.json").write_text(json.dumps(manifest))
