"""The estimand of each analysis (ICH E9(R1)), from the protocol's ``[estimands]`` section, in the form the
report prints beside each result: population, variable, summary measure, and each intercurrent event with
its strategy."""

from __future__ import annotations

from shine import protocol as protocol_module
from shine.analysis.populations import check_population
from shine.i18n import _, decimal


def population_definition(population: str) -> str:
    proto = protocol_module.load()
    text = proto.estimands.populations[check_population(population)]
    if population == "per_protocol":
        text += (f" (minimum fraction {proto.outcomes.per_protocol_min_dose_fraction:g}; the dose window ends at "
                 + ", ".join(e.replace("_", " ") for e in ("planned_end", *proto.estimands.dose_window_ends_at))
                 + ")")
    return text


def estimand(analysis: str, population: str) -> dict:
    """The estimand of ``analysis`` when the run's efficacy population is ``population``; an analysis whose
    protocol entry names its own population (safety) uses that one."""
    proto = protocol_module.load()
    if analysis not in proto.estimands.analyses:
        raise ValueError(_("the protocol defines no estimand for %(analysis)s; it has %(items)s") % {
            "analysis": decimal(analysis, "r"), "items": ', '.join(proto.estimands.analyses)})
    e = proto.estimands[analysis]
    chosen = e.population or population
    return {
        "population": chosen,
        "population_definition": population_definition(chosen),
        "variable": e.variable,
        "summary_measure": e.summary_measure,
        "intercurrent_events": [{"event": s.event, "description": proto.estimands.intercurrent_events[s.event],
                                 "strategy": s.strategy, "handling": s.handling} for s in e.strategies],
    }


def population_of(analysis: str, population: str) -> str:
    """The population an analysis runs in: its own (safety) or the run's."""
    return protocol_module.load().estimands[analysis].population or population


def summary(e: dict) -> str:
    """One paragraph: population, variable, summary measure, then each event: strategy (handling)."""
    events = "; ".join(f"{i['description']}: {i['strategy'].replace('_', ' ')} ({i['handling']})"
                       for i in e["intercurrent_events"])
    return (f"Population: {e['population'].replace('_', '-')} — {e['population_definition']}. Variable: "
            f"{e['variable']}. Summary measure: {e['summary_measure']}. Intercurrent events: {events}.")
