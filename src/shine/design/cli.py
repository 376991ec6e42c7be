"""``shine design``: sample size, the futility interim and group-sequential boundaries from the shell.

    shine design sample-size [--mean 6.5 --sd 3.9 --relative-reduction 0.20 | --difference 1.3]
                             [--alpha 0.05 --power 0.90 --method z|t] [--json]
    shine design interim [--n-max 380 --n-interim 200 --rule "cp_design<0.10" --sd 3.9]
                         [--alpha 0.05 --power 0.90] [--plot FILE.png] [--json]
    shine design bounds [--looks 3 | --information-rates 0.33,0.67,1] [--kind OF] [--alpha 0.025]
                        [--sided 1] [--gamma G] [--json]

Defaults come from the protocol file (``shine.protocol.load()``). ``--alpha`` is two-sided for
``sample-size`` and ``interim`` (as in the protocol) and rpact's one-sided-per-``--sided`` total for
``bounds``. Bad arguments print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from scipy.special import ndtri

from shine import protocol
from shine.i18n import _, decimal

from .conditional import conditional_power, design_drift
from .futility import futility_characteristics, parse_futility_rule
from .sample_size import sample_size_means_detail
from .sequential import KINDS, group_sequential_design

PROG = "shine design"
DEFAULT_COMPARISON_RULES = (
    "none", "z<0", "cp_design<0.05", "cp_design<0.10", "cp_design<0.20", "cp_trend<0.10", "cp_trend<0.20",
)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(_("%(prog)s: error: %(message)s") % {"prog": self.prog, "message": message})


def _number(kind, low=None, high=None, low_open=True, high_open=True, what=None):
    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("%(text)s is not a valid %(name)s") % {
                "text": decimal(text, "r"), "name": kind.__name__}) from None
        if isinstance(x, float) and not math.isfinite(x):
            raise argparse.ArgumentTypeError(_("must be finite, got %(text)s") % {"text": text})
        if low is not None and (x < low or (low_open and x == low)) or high is not None and (
            x > high or (high_open and x == high)
        ):
            raise argparse.ArgumentTypeError(_("must lie in %(what)s, got %(text)s") % {
                "what": what, "text": text})
        return x

    return parse


positive = _number(float, 0, None, what="(0, inf)")
positive_int = _number(int, 0, None, what="1, 2, ...")
alpha_two_sided = _number(float, 0, 0.5, what="(0, 0.5)")
probability = _number(float, 0, 1, what="(0, 1)")
finite = _number(float)


def _float_list(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected comma-separated numbers, got %(text)s") % {
            "text": decimal(text, "r")}) from None


def _parser() -> argparse.ArgumentParser:
    stats = protocol.load().statistics
    p = _Parser(prog=PROG, description=_("Trial design: sample size, futility interim, group-sequential bounds."))
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="{sample-size,interim,bounds}")

    ss = sub.add_parser("sample-size", help=_("per-arm and total sample size with a sensitivity table"))
    ss.add_argument("--mean", type=positive, default=stats.planning_control_mean, help=_("control-arm mean"))
    ss.add_argument("--sd", type=positive, default=stats.planning_sd, help=_("common standard deviation"))
    effect = ss.add_mutually_exclusive_group()
    effect.add_argument("--relative-reduction", type=probability, default=None,
                        help=_("relative reduction of the mean to detect (default %(planning_relative_reduction)s)") % {
                            "planning_relative_reduction": decimal(stats.planning_relative_reduction, "")})
    effect.add_argument("--difference", type=positive, default=None, help=_("absolute difference to detect"))
    ss.add_argument("--alpha", type=alpha_two_sided, default=stats.alpha_two_sided, help=_("two-sided alpha"))
    ss.add_argument("--power", type=probability, default=stats.power)
    ss.add_argument("--method", choices=("z", "t"), default="z", help=_("normal formula or exact noncentral t"))
    ss.add_argument("--sd-grid", type=_float_list, default=None, help=_("rows of the sensitivity table"))
    ss.add_argument("--column-grid", type=_float_list, default=None,
                    help=_("columns of the sensitivity table: control means, or differences with --difference"))
    ss.add_argument("--json", action="store_true", help=_("machine-readable output"))

    im = sub.add_parser("interim", help=_("z cut-off and operating characteristics of the futility interim"))
    im.add_argument("--n-max", type=positive_int, default=protocol.load().max_sample_size)
    im.add_argument("--n-interim", type=positive_int, default=stats.interim_n,
                    help=_("patients with complete follow-up at the interim"))
    im.add_argument("--rule", default=stats.interim_rule, help=_("cp_design<P, cp_trend<P, z<Z or none"))
    im.add_argument("--sd", type=positive, default=stats.planning_sd,
                    help=_("SD to express the cut-off on the outcome scale"))
    im.add_argument("--alpha", type=alpha_two_sided, default=stats.alpha_two_sided, help=_("two-sided alpha"))
    im.add_argument("--power", type=probability, default=stats.power, help=_("power that defines the design effect"))
    im.add_argument("--compare", nargs="+", default=None, metavar="RULE", help=_("rules for the comparison table"))
    im.add_argument("--plot", metavar="FILE.png", default=None, help=_("draw conditional power against the "
                                                                       "interim z"))
    im.add_argument("--json", action="store_true")

    bd = sub.add_parser("bounds", help=_("group-sequential efficacy boundaries (rpact's getDesignGroupSequential)"))
    looks = bd.add_mutually_exclusive_group()
    looks.add_argument("--looks", type=positive_int, default=None, help=_("number of equally spaced looks"))
    looks.add_argument("--information-rates", type=_float_list, default=None, help="e.g. 0.5,1")
    bd.add_argument("--kind", choices=KINDS, default="OF")
    bd.add_argument("--alpha", type=alpha_two_sided, default=0.025, help=_("total alpha (both sides if --sided 2)"))
    bd.add_argument("--sided", type=int, choices=(1, 2), default=1)
    bd.add_argument("--gamma", type=finite, default=None, help=_("Hwang-Shih-DeCani parameter (asHSD)"))
    bd.add_argument("--theta", type=finite, default=None, help=_("also give crossing probabilities at this drift"))
    bd.add_argument("--json", action="store_true")
    return p


def _grid(centre: float, steps, *, scale: bool = False) -> list[float]:
    return [round(centre * s, 4) if scale else round(centre + s, 4) for s in steps]


def _sample_size(a) -> dict:
    stats = protocol.load().statistics
    if a.difference is not None:
        delta, rr, column_kind = a.difference, None, "difference"
    else:
        rr = a.relative_reduction if a.relative_reduction is not None else stats.planning_relative_reduction
        delta, column_kind = a.mean * rr, "control_mean"
    res = sample_size_means_detail(delta, a.sd, alpha=a.alpha, power=a.power, method=a.method)
    sds = a.sd_grid or [v for v in _grid(a.sd, (-0.5, -0.25, 0, 0.25, 0.5)) if v > 0]
    if a.column_grid:
        columns = a.column_grid
    elif column_kind == "difference":
        columns = _grid(delta, (0.8, 0.9, 1.0, 1.1, 1.2), scale=True)
    else:
        columns = [v for v in _grid(a.mean, (-1.0, -0.5, 0, 0.5, 1.0)) if v > 0]
    table = [
        [
            sample_size_means_detail(c if column_kind == "difference" else c * rr, s,
                                     alpha=a.alpha, power=a.power, method=a.method).n_total
            for c in columns
        ]
        for s in sds
    ]
    return {
        "mean": None if column_kind == "difference" else a.mean, "relative_reduction": rr, "delta": delta,
        "sd": a.sd, "alpha": a.alpha, "power": a.power, "method": a.method,
        "n_per_arm_exact": res.n_per_arm_exact, "n_per_arm": res.n_per_arm, "n_total": res.n_total,
        "achieved_power": res.achieved_power, "formula": res.formula(),
        "sensitivity": {"rows": "sd", "columns": column_kind, "sd": sds, column_kind: columns,
                        "n_total": table},
        "_summary": res.summary(),
    }


def _print_sample_size(r: dict) -> None:
    if r["mean"] is not None:
        print(f"Control mean {r['mean']:g}, relative reduction {r['relative_reduction']:g}: "
              f"difference {r['delta']:g}")
    print(r["_summary"])
    sens = r["sensitivity"]
    kind = sens["columns"]
    label = "control mean" if kind == "control_mean" else "difference"
    print(f"\nSensitivity: total sample size (both arms), rows SD, columns {label}"
          + (f" (relative reduction {r['relative_reduction']:g})" if kind == "control_mean" else ""))
    cols = sens[kind]
    print(f"{'SD':>6} | " + " ".join(f"{c:>7g}" for c in cols))
    print("-" * 7 + "+" + "-" * (8 * len(cols)))
    for s, row in zip(sens["sd"], sens["n_total"]):
        print(f"{s:>6g} | " + " ".join(f"{n:>7d}" for n in row))


def _interim(a) -> dict:
    if a.n_interim >= a.n_max:
        raise UsageError(_("%(prog)s interim: error: --n-interim must be < --n-max (%(n_max)s), got %(n_interim)s") % {
            "prog": PROG, "n_max": decimal(a.n_max, ""), "n_interim": decimal(a.n_interim, "")})
    t = a.n_interim / a.n_max
    alpha = a.alpha / 2
    se = a.sd * math.sqrt(4 / a.n_interim)  # SE of the difference in means, n_interim/2 per arm

    def row(rule_text: str) -> dict:
        rule = parse_futility_rule(rule_text)
        z = rule.z_cutoff(t, alpha=alpha, power=a.power)
        fc = futility_characteristics(z, t, alpha=alpha, power=a.power, n_max=a.n_max, n_interim=a.n_interim)
        return {
            "rule": str(rule), "kind": rule.kind, "threshold": rule.threshold, "description": rule.describe(),
            "z_cutoff": z,
            "difference_cutoff": z * se, "power": fc.power, "type1_binding": fc.type1_binding,
            "type1_nonbinding": fc.type1_nonbinding, "p_stop_h0": fc.p_stop_h0, "p_stop_h1": fc.p_stop_h1,
            "expected_n_h0": fc.expected_n_h0, "expected_n_h1": fc.expected_n_h1,
        }

    chosen = row(a.rule)
    compare = list(a.compare or DEFAULT_COMPARISON_RULES)
    if chosen["rule"] not in [str(parse_futility_rule(r)) for r in compare]:
        compare.append(a.rule)
    return {
        "n_max": a.n_max, "n_interim": a.n_interim, "information_fraction": t, "alpha_two_sided": a.alpha,
        "alpha_one_sided": alpha, "power": a.power, "theta": design_drift(alpha, a.power),
        "critical_value": float(ndtri(1 - alpha)), "sd": a.sd, "se_difference": se,
        "rule": chosen, "comparison": [row(r) for r in compare],
    }


def _fmt_z(z: float) -> str:
    return "  -inf" if z == -math.inf else f"{z:>6.3f}"


def _print_interim(r: dict) -> None:
    c = r["rule"]
    print(f"Futility interim at {r['n_interim']} of {r['n_max']} patients with complete follow-up "
          f"(information fraction {r['information_fraction']:.4f})")
    print(f"Final test: z >= {r['critical_value']:.4f} (two-sided alpha {r['alpha_two_sided']:g}); "
          f"design drift theta = z[1-alpha] + z[power] = {r['theta']:.4f} (power {r['power']:g})")
    print(f"Rule {c['rule']}: {c['description']}")
    if c["z_cutoff"] == -math.inf:
        print("No futility stop.")
    else:
        print(f"z cut-off: stop if interim z < {c['z_cutoff']:.4f}")
        print(f"on the outcome scale: stop if the observed difference in means (control - active) is below "
              f"{c['difference_cutoff']:.3f} (SD {r['sd']:g}, {r['n_interim'] / 2:g} per arm, "
              f"SE {r['se_difference']:.3f})")
    print(f"power {c['power']:.4f}; type I error binding {c['type1_binding']:.5f}, non-binding "
          f"{c['type1_nonbinding']:.5f}")
    print(f"P(stop at interim): H0 {c['p_stop_h0']:.4f}, H1 {c['p_stop_h1']:.4f}; expected sample size: "
          f"H0 {c['expected_n_h0']:.1f}, H1 {c['expected_n_h1']:.1f}")
    print("\nAlternative rules")
    print(f"{'rule':<16} {'z cut':>6} {'diff cut':>8} {'power':>7} {'alpha(b)':>8} {'stop|H0':>7} "
          f"{'stop|H1':>7} {'E[N|H0]':>7} {'E[N|H1]':>7}")
    for x in r["comparison"]:
        diff = "    -inf" if x["difference_cutoff"] == -math.inf else f"{x['difference_cutoff']:>8.3f}"
        print(f"{x['rule']:<16} {_fmt_z(x['z_cutoff'])} {diff} {x['power']:>7.4f} {x['type1_binding']:>8.5f} "
              f"{x['p_stop_h0']:>7.4f} {x['p_stop_h1']:>7.4f} {x['expected_n_h0']:>7.1f} {x['expected_n_h1']:>7.1f}")


def plot_conditional_power(path: str, r: dict) -> None:
    """Conditional power against the interim z, under the design effect and the current trend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    t, alpha = r["information_fraction"], r["alpha_one_sided"]
    z = np.linspace(-2.0, 4.0, 301)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(z, conditional_power(z, t, alpha=alpha, theta=r["theta"]), label="design effect")
    ax.plot(z, conditional_power(z, t, alpha=alpha), label="current trend")
    rule = r["rule"]
    if rule["kind"].startswith("cp_"):
        ax.axhline(rule["threshold"], color="grey", linestyle=":")
    if rule["z_cutoff"] > -math.inf:
        ax.axvline(rule["z_cutoff"], color="grey", linestyle="--",
                   label=f"{rule['rule']}: stop if z < {rule['z_cutoff']:.2f}")
    ax.set_xlabel(f"interim z ({r['n_interim']} of {r['n_max']} patients, t = {t:.3f})")
    ax.set_ylabel("conditional power")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Conditional power at the futility interim")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _bounds(a) -> dict:
    rates = a.information_rates if a.information_rates is not None else (a.looks or 3)
    d = group_sequential_design(rates, alpha=a.alpha, kind=a.kind, gamma=a.gamma, sided=a.sided)
    out = {"kind": d.kind, "alpha": d.alpha, "sided": d.sided, "gamma": d.gamma,
           "information_rates": list(d.information_rates), "critical_values": list(d.critical_values),
           "alpha_spent": list(d.alpha_spent), "_summary": d.summary()}
    if a.theta is not None:
        cp = d.characteristics(a.theta)
        out["theta"] = a.theta
        out["p_upper_per_look"] = list(cp.upper)
        out["p_upper"] = cp.p_upper
        out["expected_information"] = cp.expected_information
        out["_summary"] = f"{out['_summary']}\n{cp.summary()}"
    return out


def _public(r: dict) -> dict:
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if not k.startswith("_")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v

    return clean(r)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        a = _parser().parse_args(argv)
        if a.command is None:
            raise UsageError(_("%(prog)s: error: choose a subcommand: sample-size, interim or bounds") % {
                "prog": PROG})
        if a.command == "sample-size":
            r = _sample_size(a)
            show = _print_sample_size
        elif a.command == "interim":
            r = _interim(a)
            show = _print_interim
            if a.plot:
                plot_conditional_power(a.plot, r)
        else:
            r = _bounds(a)
            show = lambda r: print(r["_summary"])  # noqa: E731
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 2
    except ValueError as e:
        print(_("%(prog)s: error: %(e)s") % {"prog": PROG, "e": decimal(e, "")}, file=sys.stderr)
        return 2
    except OSError as e:
        print(_("%(prog)s: error: %(e)s") % {"prog": PROG, "e": decimal(e, "")}, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if a.json:
        print(json.dumps(_public(r), indent=2))
    else:
        show(r)
        if a.command == "interim" and a.plot:
            print(f"\nplot written to {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
