"""``shine sofa``: SOFA and modified SOFA for one patient-day from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from shine.clinical import units
from shine.clinical.sofa import COMPONENTS, sofa
from shine.i18n import _


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr instead of usage + message
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shine sofa", description=_("SOFA (0–24) and modified SOFA without CNS (0–20) from the "
                "day's worst values. Omitted values are missing; omitted drugs are 0."))
    resp = p.add_argument_group(_("respiration"))
    resp.add_argument("--pao2-fio2", type=float, metavar="RATIO",
                      help=_("PaO2/FiO2 (mmHg, or kPa with --pao2-unit)"))
    resp.add_argument("--pao2", type=float, help=_("PaO2, with --fio2, instead of --pao2-fio2"))
    resp.add_argument("--fio2", type=float, help=_("FiO2 as a fraction (0.21–1) or a percentage (21–100)"))
    resp.add_argument("--pao2-unit", choices=["mmHg", "kPa"], default="mmHg",
                      help=_("unit of --pao2 and --pao2-fio2 (default mmHg)"))
    resp.add_argument("--respiratory-support", action="store_true",
                      help=_("mechanical ventilation or non-invasive support"))
    p.add_argument("--platelets", type=float, help="10⁹/L")
    p.add_argument("--platelets-unit", choices=list(units.UNITS["platelets"]), default="10^9/L")
    p.add_argument("--bilirubin", type=float, help=_("µmol/L (or --bilirubin-unit mg/dL)"))
    p.add_argument("--bilirubin-unit", choices=list(units.UNITS["bilirubin"]), default="µmol/L")
    cv = p.add_argument_group(_("cardiovascular (drugs in µg/kg/min)"))
    cv.add_argument("--map", "--map-mmhg", dest="map_mmhg", type=float, help=_("mean arterial pressure, mmHg"))
    cv.add_argument("--dopamine", type=float, default=0.0)
    cv.add_argument("--dobutamine", type=float, default=0.0)
    cv.add_argument("--epinephrine", "--adrenaline", dest="epinephrine", type=float, default=0.0)
    cv.add_argument("--norepinephrine", "--noradrenaline", dest="norepinephrine", type=float, default=0.0)
    p.add_argument("--gcs", type=int, help=_("Glasgow Coma Scale, 3–15"))
    p.add_argument("--creatinine", type=float, help=_("µmol/L (or --creatinine-unit mg/dL)"))
    p.add_argument("--creatinine-unit", choices=list(units.UNITS["creatinine"]), default="µmol/L")
    p.add_argument("--urine-output", type=float, help=_("mL per 24 h"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    return p


def _inputs(a: argparse.Namespace) -> dict:
    """The parsed options converted into :func:`sofa`'s keywords and units."""
    if a.pao2_fio2 is not None and (a.pao2 is not None or a.fio2 is not None):
        raise ValueError(_("give --pao2-fio2 or --pao2 with --fio2, not both"))
    if (a.pao2 is None) != (a.fio2 is None):
        raise ValueError(_("--pao2 and --fio2 must be given together"))
    if a.pao2 is not None:
        pf = units.pf_ratio(a.pao2, a.fio2, pao2_unit=a.pao2_unit)
    elif a.pao2_fio2 is not None:
        pf = units.to_platform_unit("pressure", a.pao2_fio2, a.pao2_unit, name="pao2_fio2")
    else:
        pf = None

    def convert(quantity, value, unit):
        return None if value is None else units.to_platform_unit(quantity, value, unit, name=quantity)

    return dict(pao2_fio2=pf, respiratory_support=a.respiratory_support,
                platelets=convert("platelets", a.platelets, a.platelets_unit),
                bilirubin=convert("bilirubin", a.bilirubin, a.bilirubin_unit), map_mmhg=a.map_mmhg,
                dopamine=a.dopamine, dobutamine=a.dobutamine, epinephrine=a.epinephrine,
                norepinephrine=a.norepinephrine, gcs=a.gcs,
                creatinine=convert("creatinine", a.creatinine, a.creatinine_unit), urine_output=a.urine_output)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        inputs = _inputs(args)
        score = sofa(**inputs)
    except (_UsageError, ValueError) as err:
        print(_("shine sofa: error: %(error)s") % {"error": err}, file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return int(done.code or 0)
    if args.json:
        print(json.dumps({**score.components(), "total": score.total, "modified": score.modified,
                          "missing": list(score.missing), "inputs": inputs}, ensure_ascii=False))
        return 0
    def shown(v):
        return _("missing") if v is None else v

    for c in COMPONENTS:
        print(f"{c:<15}{shown(getattr(score, c)):>8}")
    print(f"{'total':<15}{shown(score.total):>8} / 24")
    print(f"{'modified':<15}{shown(score.modified):>8} / 20  " + _("(without cns)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
