"""docs/states.md is drawn from the lists the machines are built from, and must be current."""

from __future__ import annotations

from typing import Any

from dialogs.diagram import DOC_PATH, guard, main, mermaid, render_doc, terminal_states
from dialogs.model import FINAL
from dialogs.spec import MACHINES, SERVICES, machine_states, machine_transitions


def test_docs_states_md_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render_doc(), "stale: run .venv/bin/python -m dialogs.diagram"
    assert main(["--check"]) == 0


def test_every_service_and_every_state_is_on_the_page() -> None:
    page = render_doc()
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    for name in SERVICES:
        assert [h for h in headings if name in h.removeprefix("## ").split(", ")], name
        for state in MACHINES[name].states:
            assert f"| `{state}` |" in page, (name, state)


def _names(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def test_the_drawing_is_of_the_machine_that_runs() -> None:
    # The lists the page is drawn from are what the built machine holds: its states, and for each trigger and
    # state the transitions in the order it tries them, with their destinations and checks.
    for name, spec in SERVICES.items():
        machine = MACHINES[name]
        assert [s["name"] for s in machine_states(spec)] == list(machine.states)
        drawn: dict[tuple[str, str], list[tuple[str | None, list[tuple[str, bool]]]]] = {}
        for t in machine_transitions(spec):
            checks = [(c, True) for c in _names(t.get("conditions"))] + [(c, False) for c in _names(t.get("unless"))]
            for source in _names(t["source"]):
                drawn.setdefault((t["trigger"], source), []).append((t["dest"], checks))
        built = {(trigger, source): [(t.dest, [(c.func, c.target) for c in t.conditions]) for t in found]
                 for trigger, event in machine.events.items() for source, found in event.transitions.items()}
        assert drawn == built, name


def test_terminal_states_are_the_dialogs_final_ones() -> None:
    # Dialog.final (dialogs/model.py FINAL) and the drawing's terminal states must not drift apart.
    for spec in SERVICES.values():
        assert set(terminal_states(machine_states(spec), machine_transitions(spec))) == FINAL


def _lines(transitions: list[dict[str, Any]]) -> list[str]:
    return [line.strip() for line in mermaid([{"name": n} for n in ("new", "a", "b", "c")], transitions)]


def test_arrows_carry_triggers_and_guards_and_else() -> None:
    lines = _lines([
        {"trigger": "go", "source": "a", "dest": "b", "conditions": "ready"},
        {"trigger": "go", "source": "a", "dest": "c"},
        {"trigger": "poke", "source": ["a", "b"], "dest": None},  # keeps the state: not drawn
        {"trigger": "skip", "source": "a", "dest": "c", "unless": ["late"]},
        {"trigger": "back", "source": "b", "dest": "a"},
        {"trigger": "begin", "source": "new", "dest": "a"},
        {"trigger": "stop", "source": ["new", "a", "b"], "dest": "c"},  # from every open state: from the frame
    ])
    assert lines[0] == "stateDiagram-v2"
    assert lines[2] == "[*] --> new"  # inside the frame of open states
    assert "a --> b : go [ready]" in lines
    assert "a --> c : go [else], skip [not late]" in lines
    assert "b --> a : back" in lines
    assert not [line for line in lines if "poke" in line]
    assert "open --> c : stop" in lines and "b --> c : stop" not in lines
    assert [line for line in lines if line.endswith("--> [*]")] == ["c --> [*]"]
    assert lines.index("b --> a : back") < lines.index("}") < lines.index("a --> c : go [else], skip [not late]")
    assert guard({"conditions": ["x", "y"], "unless": "z"}) == "[x, y, not z]"


def test_a_changed_spec_makes_the_page_stale(monkeypatch: Any) -> None:
    from dialogs import decision

    changed = [*decision.TRANSITIONS, {"trigger": "appeal", "source": "refused", "dest": "submitted"}]
    monkeypatch.setattr(decision, "TRANSITIONS", changed)
    page = render_doc()
    assert page != DOC_PATH.read_text(encoding="utf-8")
    assert "refused --> submitted : appeal" in page
    assert "refused --> [*]" not in page
