"""Not deep-copying what a debug log line would show when debug logging is off.

Rasa 3.6 passes `copy.deepcopy(...)` of events, slot candidates, the latest message and
rule states as arguments to `structlogger.debug(...)` in the message processor, the form
action and the rule policy. Arguments are evaluated before the call, so every turn deep-copies
all of that even though structlog then drops the line: about 3 % of a turn's CPU here.

In those three modules every `copy.deepcopy` call is such a log argument (checked in
tests/unit/test_rasa_patches_debug_copies.py, which fails when an upstream version adds any
other use). Their module-level name `copy` is pointed at a stand-in whose `deepcopy` copies
only while structlog emits debug lines (`rasa run --debug`), and otherwise hands the value
back unchanged: nobody reads it. Everything else of the `copy` module is passed through.
Still needed while those modules call `structlogger.debug(..., x=copy.deepcopy(...))`.
"""

from __future__ import annotations

import copy
import importlib
from types import ModuleType
from typing import Any, Dict, Optional, Tuple

import structlog

# The modules whose every deepcopy only feeds a debug line.
MODULES: Tuple[str, ...] = (
    "rasa.core.processor",
    "rasa.core.actions.forms",
    "rasa.core.policies.rule_policy",
)


def debug_enabled() -> bool:
    """Whether structlog emits debug lines with its current configuration."""
    wrapper = structlog.get_config().get("wrapper_class")
    debug = getattr(wrapper, "debug", None)
    # A filtering bound logger above DEBUG has a no-op `debug`; anything else may log.
    return getattr(debug, "__name__", "") != "_nop"


class _CopyForDebugLines:
    """Stands in for the `copy` module inside the modules above."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        """A deep copy while debug lines are emitted; otherwise `value` itself."""
        if debug_enabled():
            return copy.deepcopy(value, memo)
        return value


_STAND_IN = _CopyForDebugLines()


def apply() -> None:
    """Points each module's `copy` at the stand-in (idempotent)."""
    for name in MODULES:
        module: ModuleType = importlib.import_module(name)
        if getattr(module, "copy", None) is copy:
            module.copy = _STAND_IN  # type: ignore[attr-defined]
