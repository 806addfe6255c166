"""Channels only translate: no module under channels/ reads or writes the dialogue's state.

Checked on the source (ast) of every module: no import of Rasa's tracker store, events or
trackers; no use of an agent's tracker store, lock store or processor; no parsing (a spoken
channel passes its n-best list on, the server chooses); no event classes; and no slot or
response named in code (docstrings may explain; code may not depend on them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator, List, Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ROOT / "channels"
MODULES = sorted(CHANNELS.rglob("*.py"))
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text("utf-8"))

FORBIDDEN_IMPORTS = (
    "rasa.core.tracker_store",
    "rasa.shared.core.events",
    "rasa.shared.core.trackers",
)
FORBIDDEN_ATTRIBUTES = frozenset(
    {"tracker_store", "lock_store", "processor", "get_slot", "parse_message"}
)
FORBIDDEN_NAMES = frozenset(
    {"BotUttered", "UserUttered", "SlotSet", "ActiveLoop", "DialogueStateTracker"}
)
SLOTS: Set[str] = set(DOMAIN["slots"]) | {"requested_slot"}
RESPONSE = re.compile(r"\butter_[a-z0-9_]+")


def _docstrings(tree: ast.AST) -> Set[int]:
    """ids of the docstring nodes (explanations, not code)."""
    found: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _problems(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            modules = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for alias in node.names:
                if alias.name in FORBIDDEN_NAMES:
                    yield f"{line}: imports {alias.name}"
        else:
            modules = []
        for module in modules:
            if module.startswith(FORBIDDEN_IMPORTS):
                yield f"{line}: imports {module}"
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES | FORBIDDEN_NAMES:
            yield f"{line}: uses .{node.attr}"
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            yield f"{line}: uses {node.id}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            if node.value in FORBIDDEN_ATTRIBUTES:
                yield f"{line}: names .{node.value} (getattr)"
            if node.value in SLOTS:
                yield f"{line}: names the slot {node.value!r}"
            for response in RESPONSE.findall(node.value):
                yield f"{line}: names the response {response!r}"


def _cases() -> List[object]:
    return [pytest.param(path, id=str(path.relative_to(ROOT))) for path in MODULES]


@pytest.mark.parametrize("path", _cases())
def test_a_channel_module_only_translates(path: Path) -> None:
    """No tracker store, lock store, processor, events, slot or response name."""
    assert list(_problems(path)) == []


def test_the_check_sees_what_it_forbids(tmp_path: Path) -> None:
    """Each kind of dependency on the dialogue's state is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Docstrings may say utter_greet and requested_slot."""\n'
        "from rasa.shared.core.events import BotUttered\n"
        "import rasa.core.tracker_store\n"
        "async def f(agent, tracker):\n"
        "    await agent.tracker_store.retrieve('x')\n"
        "    async with agent.lock_store.lock('x'):\n"
        "        await agent.processor.fetch_tracker_and_update_session('x')\n"
        "    getattr(agent, 'lock_store')\n"
        "    await agent.parse_message('好的')\n"
        "    return tracker.get_slot('requested_slot'), 'utter_goodbye', 'phone_number'\n",
        "utf-8",
    )
    problems = "\n".join(_problems(bad))
    for expected in (
        "imports rasa.shared.core.events",
        "imports BotUttered",
        "imports rasa.core.tracker_store",
        "uses .tracker_store",
        "uses .lock_store",
        "uses .processor",
        "uses .get_slot",
        "names the slot 'requested_slot'",
        "names the response 'utter_goodbye'",
        "names the slot 'phone_number'",
        "names .lock_store (getattr)",
        "uses .parse_message",
    ):
        assert expected in problems
    assert "utter_greet" not in problems
