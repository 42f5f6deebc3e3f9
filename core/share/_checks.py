"""The advisor's findings as a checklist in plain words, for the story's last slide.

Each advisor rule the story can evaluate becomes a line ("No fact gives the answer away"), marked passed, a note
(an 'info' finding) or a warning; a rule that fired also has a plain finding and a plain action. Rules added later
without plain words here still show up, as "one more check needs a look" with the Advice page one click away.
"""
from __future__ import annotations

#: rule -> (the check in plain words, when it applies: 'any' | 'classification' | 'network')
CHECKS: dict[str, tuple[str, str]] = {
    "leakage_suspect": ("No fact gives the answer away", "any"),
    "class_imbalance": ("Enough examples of each answer", "classification"),
    "misleading_accuracy": ("The score is fair to rare answers", "classification"),
    "overfitting": ("Learns patterns, not the rows by heart", "any"),
    "underfitting": ("Beats a lazy guess by a clear margin", "any"),
    "unstable_model": ("Steady when the rows change", "any"),
    "diverging_curves": ("Stopped learning at the right time", "network"),
    "missing_values": ("No gaps in the data", "any"),
    "identifier_input": ("No ID numbers used as facts", "any"),
}

#: rule -> (plain finding, plain action); `{...}` fields come from the advice's evidence
PLAIN: dict[str, tuple[str, str]] = {
    "leakage_suspect": ("{feature} alone almost gives the answer away. It may be written down after the fact.",
                        "Check when {feature} is known. If it comes too late, leave it out."),
    "class_imbalance": ("Cases of {smallest_class} are rare in the data, so the overall score hides how it does on "
                        "them.", "Count the cases of {smallest_class} it finds, not the overall score."),
    "misleading_accuracy": ("The overall score flatters it, because the common answer is easy.",
                            "Look at how it does on each answer on its own."),
    "overfitting": ("It does much better on rows it learned from than on new ones. It learned them by heart.",
                    "Try a simpler model, or get more rows."),
    "underfitting": ("It does barely better than a lazy guess.", "Try a more flexible model or better facts."),
    "unstable_model": ("Its score moves a lot when the rows change.", "Get more rows before you trust one number."),
    "diverging_curves": ("Late in training it began to learn the rows by heart, so we kept its best moment.",
                         "Nothing to fix now. Firmer limits on learning by heart could help a little."),
    "missing_values": ("Some facts have gaps. {worst_column} misses the most.", "Fill the gaps at the source if you can."),
    "identifier_input": ("{column} names rows rather than describing them, and the model reads it.",
                         "Leave {column} out and train again."),
    "high_cardinality": ("{column} has very many different values.", "Group its rare values."),
    "bare_code_labels": ("The answers are bare codes, not words.", "Give each answer a name people know."),
    "explainer_disagrees": ("Two ways of explaining it disagree on what matters.", "Read the top facts with care."),
    "better_model_available": ("Another model scored better on the same rows.", "Look at that one too."),
    "tuning_not_converged": ("The search for better settings was still improving.", "Let it run longer."),
}
UNKNOWN = ("One more check needs a look.", "See the Advice page for the details.")


GENERIC = {"smallest_class": "the rarest answer", "feature": "one column", "column": "one column",
           "worst_column": "one column"}


class _Evidence(dict):
    """Evidence for a template: a missing number or name is said generically rather than failing."""

    def __missing__(self, key: str) -> str:
        return GENERIC.get(key, "one of them")


def _fill(template: str, evidence: dict) -> str:
    return template.format_map(_Evidence(evidence))


def plain_advice(advice) -> tuple[str, str]:
    """(finding, action) of one `Advice` in plain words; names from the data are quoted."""
    finding, action = PLAIN.get(advice.rule, UNKNOWN)
    evidence = {k: v if k not in GENERIC or str(v).startswith("'") else f"'{v}'"
                for k, v in (advice.evidence or {}).items()}
    text = _fill(finding, evidence), _fill(action, evidence)
    return tuple(t[0].upper() + t[1:] for t in text)


def checklist(advice: list, task: str, network: bool) -> list[tuple[str, str]]:
    """(check, 'ok' | 'note' | 'warn') for every check that applies, warnings first; a fired rule without a plain
    check of its own is listed by its plain finding."""
    fired = {a.rule: a for a in advice if a.rule != "compression_pick"}
    lines = []
    for rule, (words, applies) in CHECKS.items():
        if applies == "classification" and task != "classification" or applies == "network" and not network:
            continue
        a = fired.pop(rule, None)
        lines.append((words, "ok" if a is None else "note" if a.severity == "info" else "warn"))
    lines += [(plain_advice(a)[0].split(". ")[0].rstrip(".")[:48], "note" if a.severity == "info" else "warn")
              for a in fired.values()]
    order = {"warn": 0, "note": 1, "ok": 2}
    return sorted(lines, key=lambda line: order[line[1]])
