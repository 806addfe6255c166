"""rasa_patches.debug_copies: deep copies only for debug lines that are emitted."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import logging
from typing import Iterator, List

import pytest
from rasa.utils.log_utils import configure_structlog

from rasa_patches import debug_copies


def _deepcopy_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "deepcopy"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "copy"
        ):
            yield node


def _debug_log_arguments(tree: ast.AST) -> List[ast.AST]:
    """Every node inside the arguments of a `structlogger.debug(...)` call."""
    inside: List[ast.AST] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "debug"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "structlogger"
        ):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                inside.extend(ast.walk(argument))
    return inside


@pytest.mark.parametrize("name", debug_copies.MODULES)
def test_every_deepcopy_in_the_patched_modules_only_feeds_a_debug_line(name: str) -> None:
    """The fix is only sound while this holds; a new upstream use must fail here."""
    tree = ast.parse(inspect.getsource(importlib.import_module(name)))
    calls = list(_deepcopy_calls(tree))
    assert calls, f"{name} no longer deep-copies anything: the fix can go"
    logged = {id(node) for node in _debug_log_arguments(tree)}
    assert all(id(call) in logged for call in calls)


@pytest.fixture()
def patched() -> Iterator[None]:
    originals = {name: importlib.import_module(name).copy for name in debug_copies.MODULES}
    debug_copies.apply()
    yield
    for name, module in originals.items():
        importlib.import_module(name).copy = module
    configure_structlog(logging.WARNING)


def test_no_copy_while_debug_lines_are_dropped(patched: None) -> None:
    configure_structlog(logging.INFO)
    value = {"events": [{"event": "slot", "value": "x"}]}
    for name in debug_copies.MODULES:
        assert importlib.import_module(name).copy.deepcopy(value) is value
    assert debug_copies.debug_enabled() is False


def test_a_real_copy_when_debug_lines_are_emitted(patched: None) -> None:
    configure_structlog(logging.DEBUG)
    value = {"events": [{"event": "slot", "value": "x"}]}
    for name in debug_copies.MODULES:
        copied = importlib.import_module(name).copy.deepcopy(value)
        assert copied == value
        assert copied is not value
        assert copied["events"] is not value["events"]
    assert debug_copies.debug_enabled() is True


def test_the_rest_of_the_copy_module_passes_through(patched: None) -> None:
    module = importlib.import_module(debug_copies.MODULES[0])
    assert module.copy.copy is copy.copy
    assert module.copy.Error is copy.Error


def test_apply_is_idempotent(patched: None) -> None:
    first = [importlib.import_module(name).copy for name in debug_copies.MODULES]
    debug_copies.apply()
    assert [importlib.import_module(name).copy for name in debug_copies.MODULES] == first
    assert all(module is not copy for module in first)
