"""Small analysis data sets for the exchange formats: a simulated trial with missing-data codes added, written
unblinded and blinded (the same rows, arms recoded A/B as a blinded export codes them)."""

from __future__ import annotations

import pandas as pd
import pytest

from shine.analysis.schema import write_dataset
from shine.simulation.patients import generate_dataset

# (participant index, study day, input, code): every code and the four-dose input are exercised
CODED = [(0, 1, "pao2_fio2", "not_done"), (0, 2, "vasopressor_doses", "unknown"), (1, 1, "gcs", "not_applicable"),
         (1, 1, "respiratory_support", "unknown"), (2, 1, "creatinine", "not_done")]


def coded_tables(n: int = 30, seed: int = 7) -> dict[str, pd.DataFrame]:
    synthetic = generate_dataset(n, seed)
    tables = {name: frame.copy() for name, frame in synthetic.tables.items()}
    daily = tables["daily"]
    ids = sorted(tables["participants"]["participant_id"])
    rows = []
    from shine.exchange.metadata import CODED_COLUMNS

    for index, day, name, code in CODED:
        pid = ids[index]
        hit = (daily["participant_id"] == pid) & (daily["study_day"] == day)
        assert hit.any(), (pid, day)
        for column in CODED_COLUMNS[name]:
            daily[column] = daily[column].astype(object)
            daily.loc[hit, column] = None
        rows.append((pid, day, name, code))
    tables["daily"] = daily
    tables["daily_missing"] = pd.DataFrame(rows, columns=["participant_id", "study_day", "input", "code"])
    tables["__cutoff"] = synthetic.data_cutoff
    return tables


def write_pair(tmp_path, n: int = 30, seed: int = 7):
    tables = coded_tables(n, seed)
    cutoff = tables.pop("__cutoff")
    unblinded = write_dataset(tables, tmp_path / "unblinded", blinded=False, source="export", data_cutoff=cutoff,
                              parquet=False)
    arms = sorted(tables["participants"]["arm"].unique())
    recode = dict(zip(arms, ["B", "A"]))  # placebo → A, iloprost → B: not alphabetical, as a keyed code would be
    blinded_tables = dict(tables)
    blinded_tables["participants"] = tables["participants"].assign(arm=tables["participants"]["arm"].map(recode))
    blinded = write_dataset(blinded_tables, tmp_path / "blinded", blinded=True, source="export", data_cutoff=cutoff,
                            parquet=False)
    return unblinded, blinded


@pytest.fixture(scope="module")
def dataset_pair(tmp_path_factory):
    return write_pair(tmp_path_factory.mktemp("exchange"))
