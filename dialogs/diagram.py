"""docs/states.md: each service's dialog machine as a Mermaid state diagram, drawn from the lists it is built from.

`python -m dialogs.diagram` writes it; `python -m dialogs.diagram --check` exits 1 when the file is stale
(tests/unit/test_diagram.py does the same). The lists are dialogs/spec.py's `machine_states` and
`machine_transitions`, the very ones `build_machine` gives `transitions`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dialogs.generated import write_or_check
from dialogs.model import PUBLIC_STATUS
from dialogs.spec import INITIAL, SERVICES, machine_states, machine_transitions

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "states.md"
_CALLBACKS = ("prepare", "before", "after")


def _names(value: Any) -> list[str]:
    """A state's or transition's field as a list: `transitions` takes one name, a list of names, or None."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def guard(transition: dict[str, Any]) -> str:
    """What the machine checks before taking the transition: `[a, not b]`, or "" when nothing."""
    checks = [*_names(transition.get("conditions")), *(f"not {n}" for n in _names(transition.get("unless")))]
    return f"[{', '.join(checks)}]" if checks else ""


def _labels(transitions: list[dict[str, Any]]) -> list[str]:
    """Each transition's trigger with its guard. A guardless transition tried after guarded ones with the same
    trigger and source is marked [else]: it is the one taken when none of those applies."""
    labels = []
    for i, transition in enumerate(transitions):
        label = transition["trigger"]
        if checks := guard(transition):
            label += f" {checks}"
        elif any(earlier["trigger"] == transition["trigger"] and guard(earlier)
                 and set(_names(earlier["source"])) & set(_names(transition["source"]))
                 for earlier in transitions[:i]):
            label += " [else]"
        labels.append(label)
    return labels


def terminal_states(states: list[dict[str, Any]], transitions: list[dict[str, Any]]) -> list[str]:
    """The states no transition leads out of (those that keep the state may still apply to them)."""
    leaving = {source for t in transitions if t["dest"] is not None
               for source in _names(t["source"]) if source != t["dest"]}
    return [s["name"] for s in states if s["name"] not in leaving]


def mermaid(states: list[dict[str, Any]], transitions: list[dict[str, Any]]) -> list[str]:
    """A `stateDiagram-v2`: every transition that puts the dialog in a state (one arrow per pair of states, its
    triggers joined), the start, and an arrow to the end from each terminal state. The states that are not
    terminal are framed together as `open`; a transition from every one of them to a terminal state is one arrow
    from the frame."""
    terminal = terminal_states(states, transitions)
    open_states = [s["name"] for s in states if s["name"] not in terminal]
    assert "open" not in (s["name"] for s in states), "a state named 'open' would be drawn as the frame"
    edges: dict[tuple[str, str], list[str]] = {}
    for transition, label in zip(transitions, _labels(transitions), strict=True):
        dest = transition["dest"]
        if dest is None:
            continue
        sources = _names(transition["source"])
        if set(sources) == set(open_states) and dest in terminal:
            sources = ["open"]
        for source in sources:
            found = edges.setdefault((source, dest), [])
            if label not in found:
                found.append(label)
    inside = {pair: labels for pair, labels in edges.items() if pair[0] in open_states and pair[1] in open_states}
    return [
        "stateDiagram-v2",
        '    state "open: every state that is not terminal" as open {',
        f"        [*] --> {INITIAL}",
        *(f"        {source} --> {dest} : {', '.join(labels)}" for (source, dest), labels in inside.items()),
        "    }",
        *(f"    {source} --> {dest} : {', '.join(labels)}" for (source, dest), labels in edges.items()
          if (source, dest) not in inside),
        *(f"    {state} --> [*]" for state in terminal),
        "    classDef terminal fill:#eeeeee,stroke:#555555",
        f"    class {','.join(terminal)} terminal",
    ]


def _code(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _states_table(states: list[dict[str, Any]], transitions: list[dict[str, Any]]) -> list[str]:
    terminal = set(terminal_states(states, transitions))
    rows = ["| state | on enter | on exit | status shown | terminal |", "|---|---|---|---|---|"]
    for state in states:
        name = state["name"]
        shown = PUBLIC_STATUS.get(name, name)
        rows.append(f"| `{name}` | {_code(_names(state.get('on_enter')))} | {_code(_names(state.get('on_exit')))} "
                    f"| {'' if shown == name else f'`{shown}`'} | {'yes' if name in terminal else ''} |")
    return rows


def _transitions_table(transitions: list[dict[str, Any]]) -> list[str]:
    rows = ["| trigger | from | to | only if | callbacks |", "|---|---|---|---|---|"]
    for transition, label in zip(transitions, _labels(transitions), strict=True):
        checks = label.partition(" ")[2].strip("[]")
        dest = transition["dest"]
        calls = "; ".join(f"{kind}: {_code(_names(transition[kind]))}" for kind in _CALLBACKS if kind in transition)
        rows.append(f"| `{transition['trigger']}` | {_code(_names(transition['source']))} "
                    f"| {'(stays)' if dest is None else f'`{dest}`'} | {checks} | {calls} |")
    return rows


def render_doc() -> str:
    """The whole page, from the machines' lists as they are now."""
    groups: list[tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]] = []
    for name, spec in SERVICES.items():
        states, transitions = machine_states(spec), machine_transitions(spec)
        same = [g for g in groups if g[1] == states and g[2] == transitions]
        if same:
            same[0][0].append(name)
        else:
            groups.append(([name], states, transitions))
    lines = [
        "# Dialog states",
        "",
        "Generated by `python -m dialogs.diagram` from the lists each service's `transitions` machine is built",
        "from (`dialogs/consent.py`, `bank_account.py`, `decision.py`, then the service's own in `birth.py` or",
        "`disability.py`, put together by `dialogs/spec.py`); do not edit by hand (a test fails when this page is",
        "stale). Each arrow is a transition that puts the dialog in a state, labelled with its trigger and, in",
        "brackets, what the machine checks first; transitions with the same trigger from the same state are tried",
        "in order, and `[else]` marks the one taken when none before it applies. Every dialog starts in `new`; an",
        "arrow to the end marks a terminal state (shaded), which no transition leaves. The frame, `open`, holds the",
        "states that are not terminal: an arrow from its edge is a transition from every one of them. Triggers",
        "that keep the state (an unclear reply, a question, a reminder, an account typed wrong) are not drawn:",
        "the table under each diagram lists every transition, those marked *(stays)*.",
        "",
    ]
    for names, states, transitions in groups:
        shared = (f"These services have the same states and transitions (each has a machine of its own): "
                  f"{_code(names)}.") if len(names) > 1 else ""
        lines += [
            f"## {', '.join(names)}",
            "",
            *([shared, ""] if shared else []),
            "```mermaid",
            *mermaid(states, transitions),
            "```",
            "",
            "### States",
            "",
            "A state's callbacks run on entering and leaving it; *status shown* is the name the API and the",
            "console give it when they differ.",
            "",
            *_states_table(states, transitions),
            "",
            "### Transitions, in the order the machine tries them",
            "",
            *_transitions_table(transitions),
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return write_or_check("python -m dialogs.diagram", __doc__, DOC_PATH, render_doc, argv)


if __name__ == "__main__":
    sys.exit(main())
