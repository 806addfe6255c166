"""Every intent, slot, action, response and entity named in the Python code exists in domain.yml.

The code is read with `ast`, never imported, and only where a string is surely a domain name:
- a slot: `SlotSet("…")`, `….get_slot("…")`, a module constant named `…_SLOT` / `…_SLOTS`;
- an action: `FollowupAction("…")`, what `name()` of an action class returns;
- a response: `response="…"` in any call;
- an intent: a string compared with something about an intent (`intent == "deny"`,
  `latest_intent_name(t) in LEAVING`), a module constant named `…_INTENT` / `…_INTENTS`;
- an entity: `latest_entities(tracker, "…")`, `get_latest_entity_values("…")`;
- any string that looks like `utter_…` (a response), `action_…` or `validate_…` (an action);
  one ending in `_` is a prefix and must start some name of the domain.
A name given as a module constant (here or imported from another scanned module), a tuple, a
set, a dict (its values when indexed) or a conditional expression is followed to its strings;
anything else (a name computed at run time) is not checked. Rasa's own names count as known.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import pytest
import yaml
from rasa.nlu.constants import RESPONSE_SELECTOR_UTTER_ACTION_KEY
from rasa.shared.core.constants import DEFAULT_ACTION_NAMES, DEFAULT_INTENTS, DEFAULT_SLOT_NAMES

from turns.questions import NOT_UNDERSTOOD, OFFERS, OTHER_WAYS, QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
# The packages whose Python may name domain things (core/ should name none).
SOURCES = ("actions", "channels", "turns", "nlu", "core", "rasa_plugins")
KINDS = ("intent", "slot", "action", "response", "entity")
LOOKS_LIKE = re.compile(r"(utter|action|validate)_[a-z0-9_]+")
ACTION_CLASS = re.compile(r"(Action|Validate)[A-Z]\w*")
CONSTANT_KIND = re.compile(r"_?[A-Z0-9_]*_(SLOTS?|INTENTS?)")


@dataclass(frozen=True)
class Named:
    """One name the code uses: its kind, the name, and where it is written (file:line)."""

    kind: str
    name: str
    where: str
    # Found only because it looks like utter_/action_/validate_ (a rule above may name it too).
    generic: bool = False


@dataclass
class Module:
    """One parsed source file, its top-level constants and what it imports by name."""

    dotted: str
    path: Path
    tree: ast.Module
    constants: Dict[str, ast.expr]
    imports: Dict[str, Tuple[str, str]]


def _parse(path: Path, text: Optional[str] = None) -> Module:
    """A source file parsed (from `text` when given, as if it were at `path`)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    constants: Dict[str, ast.expr] = {}
    imports: Dict[str, Tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                constants[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            constants[node.target.id] = node.value
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module, alias.name)
    parts = path.relative_to(ROOT).with_suffix("").parts
    dotted = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return Module(dotted, path, tree, constants, imports)


class Scanner:
    """Finds the domain names in a set of modules (see the module's docstring for where)."""

    def __init__(self, modules: Iterable[Module]) -> None:
        self.modules = {m.dotted: m for m in modules}

    def names(self) -> List[Named]:
        """Every name found, in file order."""
        found: List[Named] = []
        for module in self.modules.values():
            found += self._module_names(module)
        return found

    # --- following an expression to its strings -----------------------------------------

    def strings(
        self, node: Optional[ast.expr], module: Module, keys: bool = True, depth: int = 0
    ) -> List[Tuple[str, str]]:
        """The strings an expression surely stands for, each with its file:line."""
        if node is None or depth > 5:
            return []
        deeper = depth + 1
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(node.value, self._where(module, node))]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for item in node.elts for s in self.strings(item, module, keys, deeper)]
        if isinstance(node, ast.Dict):
            parts = node.keys if keys else node.values
            return [s for item in parts for s in self.strings(item, module, keys, deeper)]
        if isinstance(node, ast.IfExp):
            return self.strings(node.body, module, keys, deeper) + self.strings(
                node.orelse, module, keys, deeper
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.strings(node.left, module, keys, deeper) + self.strings(
                node.right, module, keys, deeper
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("frozenset", "set", "tuple", "list")
            and len(node.args) == 1
        ):
            return self.strings(node.args[0], module, keys, deeper)
        if isinstance(node, ast.Subscript):
            # SOME_TABLE[key]: one of the table's values
            return self.strings(node.value, module, False, deeper)
        if isinstance(node, ast.Name):
            found = self._constant(node.id, module)
            if found is not None:
                value, home = found
                return self.strings(value, home, keys, deeper)
        return []

    def _constant(self, name: str, module: Module) -> Optional[Tuple[ast.expr, Module]]:
        if name in module.constants:
            return module.constants[name], module
        source = module.imports.get(name)
        if source and source[0] in self.modules:
            home = self.modules[source[0]]
            if source[1] in home.constants:
                return home.constants[source[1]], home
        return None

    @staticmethod
    def _where(module: Module, node: ast.AST) -> str:
        return f"{module.path.relative_to(ROOT)}:{node.lineno}"

    # --- where names are -------------------------------------------------------------------

    def _module_names(self, module: Module) -> List[Named]:
        found: List[Named] = []

        def add(kind: str, node: Optional[ast.expr], keys: bool = True) -> None:
            for name, where in self.strings(node, module, keys):
                found.append(Named(kind, name, where))

        for target, value in module.constants.items():
            match = CONSTANT_KIND.fullmatch(target)
            if match:
                add("slot" if match.group(1).startswith("SLOT") else "intent", value, False)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                self._call_names(node, add)
            elif isinstance(node, ast.ClassDef) and _is_action_class(node):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "name":
                        for ret in ast.walk(item):
                            if isinstance(ret, ast.Return):
                                add("action", ret.value)
            elif isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(_about_intent(side) for side in sides):
                    for side in sides:
                        if not _about_intent(side):
                            add("intent", side)
            elif isinstance(node, ast.Constant) and LOOKS_LIKE.fullmatch(str(node.value)):
                kind = "response" if node.value.startswith("utter_") else "action"
                if node.value.endswith("_"):
                    kind = "prefix"
                found.append(Named(kind, node.value, self._where(module, node), True))
        return found

    @staticmethod
    def _call_names(node: ast.Call, add) -> None:
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        args = list(node.args)
        if called == "SlotSet":
            add("slot", args[0] if args else keywords.get("key"))
        elif called == "get_slot":
            add("slot", args[0] if args else None)
        elif called == "FollowupAction":
            add("action", args[0] if args else keywords.get("name"))
        elif called == "latest_entities":
            add("entity", args[1] if len(args) > 1 else keywords.get("entity"))
        elif called == "get_latest_entity_values":
            add("entity", args[0] if args else None)
        if "response" in keywords:
            add("response", keywords["response"])


def _is_action_class(node: ast.ClassDef) -> bool:
    """A rasa_sdk action (its `name()` is an action's), not a channel's or a plugin's class."""
    bases = [getattr(b, "id", None) or getattr(b, "attr", "") for b in node.bases]
    return any(b.endswith("Action") for b in bases) or bool(ACTION_CLASS.fullmatch(node.name))


def _about_intent(node: ast.expr) -> bool:
    """Whether an expression (not a literal) reads an intent: `intent`, `latest_intent_name(t)`."""
    if isinstance(node, (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict)):
        return False  # the names compared with: ("affirm", OTHER_INTENT) is not itself an intent
    return any(
        "intent" in ident.lower()
        for sub in ast.walk(node)
        for ident in (getattr(sub, "id", None), getattr(sub, "attr", None))
        if isinstance(ident, str)
    )


def source_modules() -> List[Module]:
    """Every Python module of the scanned packages (migrations aside: they name no domain)."""
    paths = [
        path
        for package in SOURCES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]
    return [_parse(path) for path in paths]


def python_names() -> List[Named]:
    """Every domain name the Python code uses, with where."""
    return Scanner(source_modules()).names()


def domain_names() -> Dict[str, Set[str]]:
    """The names domain.yml declares, by kind, with the ones Rasa brings itself."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    forms = set(domain.get("forms") or {})
    responses = set(domain.get("responses") or {})
    return {
        "intent": set(domain.get("intents") or []) | set(DEFAULT_INTENTS),
        "slot": set(domain.get("slots") or {}) | set(DEFAULT_SLOT_NAMES),
        "action": set(domain.get("actions") or []) | forms | set(DEFAULT_ACTION_NAMES) | responses,
        "response": responses,
        "entity": set(domain.get("entities") or []),
    }


def unknown(names: Iterable[Named], known: Dict[str, Set[str]]) -> List[str]:
    """'file:line: unknown <kind> <name>' for each name the domain lacks, in file order."""
    names = list(names)
    everything = set().union(*known.values())
    specific = {(n.where, n.name) for n in names if not n.generic}
    wrong = set()
    for named in names:
        if named.name == RESPONSE_SELECTOR_UTTER_ACTION_KEY:
            continue  # the key Rasa gives a bot message's response name under, not a name
        if named.generic and (named.where, named.name) in specific:
            continue  # reported (or not) as what the call there makes it
        if named.kind == "prefix":
            ok = any(name.startswith(named.name) for name in everything)
        else:
            ok = named.name in known[named.kind]
        if not ok:
            path, line = named.where.rsplit(":", 1)
            wrong.add((path, int(line), f"{named.where}: unknown {named.kind} {named.name!r}"))
    return [message for _, _, message in sorted(wrong)]


@pytest.fixture(scope="module")
def found() -> List[Named]:
    """The names of the project's Python code."""
    return python_names()


def test_every_name_in_python_exists_in_the_domain(found: List[Named]) -> None:
    """No intent, slot, action, response or entity named in Python is missing from domain.yml."""
    wrong = unknown(found, domain_names())
    assert not wrong, "names the domain does not declare:\n" + "\n".join(wrong)


def test_the_scan_sees_each_kind_of_name(found: List[Named]) -> None:
    """The scan reads real names of every kind (so a pass above is not an empty scan)."""
    by_kind = {kind: {n.name for n in found if n.kind == kind} for kind in KINDS}
    assert {"next_step", "proxy_explained", "refund_offer"} <= by_kind["slot"]
    assert {"action_short_answer", "validate_cancel_form"} <= by_kind["action"]
    assert {"utter_privacy_notice", "utter_proxy_ways", "utter_phone_locked"} <= by_kind["response"]
    assert {"affirm", "deny", "inform", "nlu_fallback", "request_human"} <= by_kind["intent"]
    assert {"service", "reference_number"} <= by_kind["entity"]


def test_every_question_of_turns_is_a_response() -> None:
    """The keys of turns/questions.py's tables are responses of domain.yml."""
    responses = domain_names()["response"]
    tables = {
        "QUESTIONS": set(QUESTIONS),
        "OFFERS": set(OFFERS),
        "NOT_UNDERSTOOD": set(NOT_UNDERSTOOD),
        "OTHER_WAYS": set(OTHER_WAYS),
    }
    wrong = {table: sorted(names - responses) for table, names in tables.items()}
    assert not any(wrong.values()), f"turns/questions.py names unknown responses: {wrong}"


SAMPLE = """
from rasa_sdk import Action
from rasa_sdk.events import FollowupAction, SlotSet

GOAL_SLOT = "goal"
LIMITS = {"locked": "utter_phone_locked", "late": "utter_no_such_limit"}


class ActionX(Action):
    def name(self):
        return "action_no_such_action"

    def run(self, tracker, dispatcher, status, intent):
        dispatcher.utter_message(response=LIMITS[status])
        if intent in ("affirm", "no_such_intent"):
            return [SlotSet("no_such_slot", 1), SlotSet(GOAL_SLOT, 2)]
        tracker.get_slot("verified_phone")
        return [FollowupAction("utter_no_such_follow_up"), "utter_ask_no_such_"]
"""


def test_an_unknown_name_is_reported_with_its_file_and_line() -> None:
    """Each unknown name is reported once, with the file and line where it is written."""
    module = _parse(ROOT / "actions" / "sample.py", SAMPLE)
    assert unknown(Scanner([module]).names(), domain_names()) == [
        "actions/sample.py:6: unknown response 'utter_no_such_limit'",
        "actions/sample.py:11: unknown action 'action_no_such_action'",
        "actions/sample.py:15: unknown intent 'no_such_intent'",
        "actions/sample.py:16: unknown slot 'no_such_slot'",
        "actions/sample.py:18: unknown action 'utter_no_such_follow_up'",
        "actions/sample.py:18: unknown prefix 'utter_ask_no_such_'",
    ]
