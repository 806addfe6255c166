"""The IVR channel only translates: it reads no tracker and names no slot or response."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
IVR = ROOT / "channels" / "ivr"
# Rasa modules that hold the dialogue's state: a channel reading them is a second dialogue manager.
FORBIDDEN_MODULES = (
    "rasa.core.tracker_store",
    "rasa.shared.core.events",
    "rasa.shared.core.trackers",
)
FORBIDDEN_NAMES = {"tracker_store", "get_tracker", "DialogueStateTracker"}


def sources() -> Iterator[Tuple[str, ast.Module]]:
    """Every module of channels/ivr, parsed."""
    for path in sorted(IVR.glob("*.py")):
        yield path.name, ast.parse(path.read_text(encoding="utf-8"))


def domain_names() -> Set[str]:
    """Slot, response, action and form names of domain.yml, and Rasa's requested_slot."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    names = {"requested_slot"}
    for section in ("slots", "responses", "forms"):
        names |= set(domain.get(section) or {})
    names |= {a for a in domain.get("actions") or () if isinstance(a, str)}
    return names


def test_there_is_something_to_check() -> None:
    """The folder is where the channel lives (the checks below are not vacuous)."""
    assert {name for name, _ in sources()} >= {"__init__.py", "collect.py", "prompts.py"}


def test_no_module_imports_the_dialogue_state() -> None:
    """No tracker store, tracker or events import, and no tracker access by name."""
    found = []
    for name, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                modules = []
            found += [(name, m) for m in modules if m.startswith(FORBIDDEN_MODULES)]
            if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
                found.append((name, node.attr))
            if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
                found.append((name, node.id))
    assert found == []


def test_no_module_names_a_slot_or_a_response() -> None:
    """No string in the code is a slot, response, action or form name, nor an utter_ name."""
    names = domain_names()
    found = []
    for name, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words = set(node.value.replace(",", " ").split())
                hits = {w for w in words if w in names or w.startswith("utter_")}
                if node.value in names:
                    hits.add(node.value)
                found += [(name, hit) for hit in sorted(hits)]
    assert found == []
