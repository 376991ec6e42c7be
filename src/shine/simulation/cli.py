"""``shine simulate``: synthetic data sets and operating characteristics.

    shine simulate dataset --patients 279 --seed 1 [--effect 0] [--mortality-rr 1] --out DIR
    shine simulate oc --trials 100000 --effect 0 1.3 --sd 3.9 --rule "cp_design<0.10" [--plot FILE.png]
"""

from __future__ import annotations

import argparse
import json
import sys

from shine import protocol as _protocol
from shine.i18n import _, decimal


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, status 2
        raise _Usage(_("shine simulate: %(message)s") % {"message": message})


class _Usage(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    from shine.simulation.trials import BACKENDS

    proto = _protocol.load()
    stats = proto.statistics
    p = _Parser(prog="shine simulate", description=_("Synthetic SHINE data sets and trial simulations."))
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("dataset", help=_("write a synthetic analysis data set"))
    d.add_argument("--patients", type=int, default=279, help=_("randomised participants (default 279)"))
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--effect", type=float, default=0.0,
                   help=_("reduction of the daily modified SOFA with iloprost, points (default 0)"))
    d.add_argument("--mortality-rr", type=float, default=1.0, help=_("risk ratio for death by day 90 (default 1)"))
    d.add_argument("--data-cutoff", default=None, help=_("ISO time of the export (default: after all follow-up)"))
    d.add_argument("--blinded", action="store_true", help=_("arms as A/B"))
    d.add_argument("--no-parquet", action="store_true", help=_("CSV only"))
    d.add_argument("--out", required=True, help=_("folder to write"))

    o = sub.add_parser("oc", help=_("operating characteristics by simulating whole trials"))
    o.add_argument("--trials", type=int, default=100_000)
    o.add_argument("--effect", type=float, nargs="+", default=[0.0, stats.planning_control_mean *
                                                                 stats.planning_relative_reduction])
    o.add_argument("--sd", type=float, default=stats.planning_sd)
    o.add_argument("--n-max", type=int, default=proto.max_sample_size)
    o.add_argument("--n-interim", type=int, default=stats.interim_n)
    rule = o.add_mutually_exclusive_group()
    rule.add_argument("--rule", default=None, help=_("futility rule (default %(interim_rule)s)") % {
        "interim_rule": decimal(stats.interim_rule, "r")})
    rule.add_argument("--futility-z", type=float, default=None, help=_("futility z cut-off instead of a rule"))
    rule.add_argument("--no-interim", action="store_true", help=_("no futility look"))
    o.add_argument("--sites", type=int, default=len(proto.sites))
    o.add_argument("--seed", type=int, default=1)
    o.add_argument("--model", choices=("ancova", "means"), default="ancova")
    o.add_argument("--backend", choices=BACKENDS, default="numpy")
    o.add_argument("--dtype", choices=("float64", "float32"), default="float64", help=_("torch and triton backends"))
    o.add_argument("--plot", default=None, help=_("PNG file: power and stopping probability against effect"))
    o.add_argument("--json", action="store_true", help=_("machine-readable output"))
    return p


def _dataset(args) -> int:
    from shine.simulation.patients import generate_dataset

    data = generate_dataset(args.patients, args.seed, effect=args.effect, mortality_rr=args.mortality_rr,
                            data_cutoff=args.data_cutoff, blinded=args.blinded)
    out = data.write(args.out, parquet=not args.no_parquet)
    print(data.summary())
    print(f"written to {out}")
    return 0


def _oc(args) -> int:
    from shine.simulation.trials import futility_z_for, simulate_trials

    if args.no_interim:
        n_interim, futility_z, rule = None, None, "none"
    elif args.futility_z is not None:
        n_interim, futility_z, rule = args.n_interim, args.futility_z, f"z < {args.futility_z:g}"
    else:
        rule = args.rule or _protocol.load().statistics.interim_rule
        if not 0 < args.n_interim < args.n_max:
            raise ValueError(_("--n-interim must lie between 0 and --n-max (%(n_max)s); got %(n_interim)s") % {
                "n_max": decimal(args.n_max, ""), "n_interim": decimal(args.n_interim, "")})
        n_interim, futility_z = args.n_interim, futility_z_for(rule, args.n_interim, args.n_max)

    def run(effect):
        return simulate_trials(args.trials, effect, args.sd, args.n_max, n_interim, futility_z, sites=args.sites,
                               seed=args.seed, backend=args.backend, model=args.model, dtype=args.dtype)

    results = [run(e) for e in args.effect]
    if args.json:
        print(json.dumps([{"effect": r.effect, "power": r.power, "type1": r.type1,
                           "type1_nonbinding": r.type1_nonbinding, "p_stop_futility": r.p_stop_futility,
                           "expected_n": r.expected_n, "mcse": vars(r.mcse), "futility_z": r.futility_z,
                           "rule": rule, "n_trials": r.n_trials, "model": r.model, "backend": r.backend}
                          for r in results], indent=2))
    else:
        first = results[0]
        cut = "none" if futility_z is None else f"{rule} → stop if interim z < {futility_z:.4f}"
        print(f"{args.trials:,} trials per effect, {first.model} model, {first.backend} backend; SD {args.sd:g}; "
              f"n {n_interim}/{args.n_max}; futility: {cut}")
        print(f"{'effect':>8} {'power':>8} {'(MCSE)':>8} {'P(stop)':>8} {'(MCSE)':>8} {'E[N]':>8} {'(MCSE)':>7} "
              f"{'type I':>8} {'(MCSE)':>8} {'type I nb':>9}")
        for r in results:
            m = r.mcse
            print(f"{r.effect:8.3g} {r.power:8.4f} {m.power:8.4f} {r.p_stop_futility:8.4f} {m.p_stop_futility:8.4f} "
                  f"{r.expected_n:8.1f} {m.expected_n:7.2f} {r.type1:8.4f} {m.type1:8.4f} {r.type1_nonbinding:9.4f}")
    if args.plot:
        _plot(args, results, run)
    return 0


def _plot(args, results, run) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    top = max(abs(e) for e in args.effect) or args.sd / 3
    grid = sorted(set(args.effect) | {float(x) for x in np.round(np.linspace(0, 1.5 * top, 11), 6)})
    known = {r.effect: r for r in results}
    curve = [known.get(e) or run(e) for e in grid]
    fig, ax = plt.subplots(figsize=(6, 4))
    for attr, label in (("power", "power (reject for iloprost)"), ("p_stop_futility", "P(stop for futility)")):
        y = np.array([getattr(r, attr) for r in curve])
        err = np.array([getattr(r.mcse, attr) for r in curve])
        ax.errorbar(grid, y, yerr=3 * err, marker="o", ms=3, capsize=2, label=label)
    ax.set_xlabel("true reduction of the mean daily modified SOFA (points)")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"{args.trials:,} simulated trials per point (±3 MCSE)")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)
    print(f"plot written to {args.plot}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        if args.command == "dataset":
            return _dataset(args)
        return _oc(args)
    except (_Usage, ValueError) as exc:
        print(str(exc) if isinstance(exc, _Usage) else f"shine simulate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
