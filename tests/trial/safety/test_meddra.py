"""No MedDRA content ships in the repository (its licence forbids it): none of the distribution's file names
is present, and a MedDRA code is accepted only with its version (tested in test_services)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# the ASCII files of a MedDRA release (MedDRA distribution file format document)
MEDDRA_FILES = {"llt.asc", "pt.asc", "hlt.asc", "hlgt.asc", "soc.asc", "mdhier.asc", "hlt_pt.asc",
                "hlgt_hlt.asc", "soc_hlgt.asc", "intl_ord.asc", "smq_list.asc", "smq_content.asc", "meddra_release.asc"}


def meddra_files(root: Path) -> list[str]:
    skip = {".venv", ".git", "node_modules"}
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.lower() in MEDDRA_FILES and not skip & set(p.relative_to(root).parts))


def test_no_meddra_files_in_the_repository():
    assert meddra_files(ROOT) == []


def test_the_check_would_find_one(tmp_path):
    (tmp_path / "MedAscii").mkdir()
    (tmp_path / "MedAscii" / "LLT.ASC").write_text("10000001$term$")
    assert meddra_files(tmp_path) == ["MedAscii/LLT.ASC"]
