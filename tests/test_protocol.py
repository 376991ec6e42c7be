import tomllib

import pytest

from shine import protocol


def test_loads_the_trial_facts():
    p = protocol.load()
    assert p.site_codes == ("RH", "BBH", "HGH", "NOH", "HVH", "SUH")
    assert p.max_sample_size == 380
    assert p.intervention.dose_ng_per_kg_min == 1.0
    assert p.intervention.duration_hours == 72
    assert p.randomisation.block_sizes == (2, 4, 6)
    assert p.statistics.interim_n == 200
    assert p.arms == ("iloprost", "placebo")


def test_protocol_is_frozen():
    p = protocol.load()
    with pytest.raises(AttributeError):
        p.max_sample_size = 1  # type: ignore[misc]


def test_invalid_protocol_lists_every_problem():
    with open(protocol.DEFAULT_FILE, "rb") as fh:
        data = tomllib.load(fh)
    data["randomisation"]["block_sizes"] = [3]
    data["statistics"]["interim_n"] = 400
    data["eligibility"]["lactate_comparison"] = "<"
    with pytest.raises(ValueError) as err:
        protocol.parse(data)
    msg = str(err.value)
    assert "block_sizes" in msg and "interim_n" in msg and "comparison" in msg


def test_amended_protocol_file_is_used(tmp_path, monkeypatch):
    text = protocol.DEFAULT_FILE.read_text().replace("dose_ng_per_kg_min = 1.0", "dose_ng_per_kg_min = 2.0")
    f = tmp_path / "amended.toml"
    f.write_text(text)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(f))
    assert protocol.load().intervention.dose_ng_per_kg_min == 2.0
