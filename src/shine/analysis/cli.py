"""``shine analyse DATA_DIR [--population itt|per_protocol] [--blinded] --out REPORT_DIR``."""

from __future__ import annotations

import argparse
import sys

from shine.analysis import blinding_key
from shine.analysis.populations import POPULATIONS
from shine.i18n import _


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line and status 2, never a traceback
        print(_("shine analyse: %(message)s") % {"message": message}, file=sys.stderr)
        raise SystemExit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shine analyse", description=_("Run the statistical analysis plan on an analysis data set "
                                                    "and write results.json, CSV tables, PNG figures and "
                                                    "report.html."))
    p.add_argument("data_dir", help=_("folder of the analysis data set (docs/data-model.md)"))
    p.add_argument("--population", choices=POPULATIONS, default="per_protocol",
                   help=_("analysis population (default: per_protocol, as published)"))
    p.add_argument("--blinded", action="store_true",
                   help=_("report by coded group A/B; an unblinded data set is recoded with the platform's "
                          "blinding key ($%(env)s, or the demo's key in $SHINE_VAR_DIR), so the labels are those "
                          "of the platform's blinded export; the key is written nowhere") % {
                       "env": blinding_key.ENV})
    p.add_argument("--seed", type=int, default=None, help=_("seed of the bootstrap and multiple imputation"))
    p.add_argument("--out", required=True, help=_("report folder to write"))
    return p


def _missing_data(data, out) -> str:
    """The missing-data handling (protocol ``[missing_data]``): values, codes and blanks per input and what each
    rule filled, in ``missing_data.json`` beside the report; returns its one-line summary."""
    import json
    from pathlib import Path

    from shine.analysis import derive

    rep = derive.missing_data_report(data)
    (Path(out) / "missing_data.json").write_text(json.dumps(rep.as_dict(), indent=2, sort_keys=True) + "\n")
    return rep.summary()


def blinded(data, environ=None):
    """An unblinded data set recoded to A/B with the platform's blinding key (:mod:`.blinding_key`); without
    one (a simulated data set on a laptop), keyed with the data set's own fingerprint."""
    secret = blinding_key.secret(environ)
    return data.blind(secret.encode() if secret else None)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from shine.analysis import analyses, report
    from shine.analysis.dataset import DatasetError, load

    try:
        data = load(args.data_dir)
    except DatasetError as exc:
        print(_("shine analyse: %(data_dir)s is not a valid analysis data set: %(exc)s") % {
            "data_dir": args.data_dir, "exc": exc}, file=sys.stderr)
        return 2
    if args.blinded and not data.blinded:
        data = blinded(data)
    seed = analyses.DEFAULT_SEED if args.seed is None else args.seed
    try:
        result = report.run(data, args.population, seed=seed)
    except ValueError as exc:
        print(_("shine analyse: %(exc)s") % {"exc": exc}, file=sys.stderr)
        return 2
    out = report.write(result, args.out)
    p = result.results["primary"]
    g1, g0 = result.results["groups"]
    if "not_estimable" in p:
        print(f"primary ({args.population}): not estimable: {p['not_estimable']}; report in {out}")
    else:
        print(f"primary ({args.population}): {g1} − {g0} = {p['difference']:.2f} "
              f"(95 % CI {p['ci_low']:.2f} to {p['ci_high']:.2f}), P = {p['p_value']:.3g}; report in {out}")
        print(f"baseline covariate: {p['baseline_covariate']['text']}")
    print(_missing_data(data, out))
    if any(r.get("not_estimable") == analyses.NO_SAFETY_DATA for r in result.results["safety"].values()):
        print(f"safety outcomes not reported: {analyses.NO_SAFETY_DATA}")
    others = [name for name, r in _sections(result.results) if "not_estimable" in r]
    if others:
        print("not estimable: " + ", ".join(others))
    return 0


def _sections(results: dict):
    """(name, result) of every analysis in results.json."""
    yield "primary", results["primary"]
    for d, m in results["mortality"].items():
        yield f"{d}-day mortality", m
    yield "survival", results["survival"]
    for s, r in results["days_alive_without_support"].items():
        yield f"days alive without {s.replace('_', ' ')}", r
    for k, r in results["safety"].items():
        yield k.replace("_", " "), r
