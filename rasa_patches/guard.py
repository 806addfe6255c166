"""Applying a patch to Rasa only onto the code it was written for, and only when not switched off.

A patch declares the versions it was written for and a fingerprint of each piece of upstream
code it replaces or relies on: the SHA-256 (first 16 hex digits) of that function's, class's or
module's source text as installed. The source is read from the file, not from the live object,
so a patch already applied in this process does not change what is compared. On any mismatch
the patch is skipped with a warning naming it and why: Rasa's own code then runs, which is
slower but correct. A plugin whose correctness depends on upstream code uses
`require_upstream`, which refuses instead (raises `UpstreamChanged`).

The environment chooses what is applied, by name:
    RASA_PATCHES=all (default) | none | name,name   (only those)
    RASA_PATCHES_DISABLE=name,name                  (all selected but those)
An unknown name is refused: a typo must not leave a patch on that was meant to be off.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

SELECT_ENV = "RASA_PATCHES"
DISABLE_ENV = "RASA_PATCHES_DISABLE"
SPEED = "speed patch"
FEATURE = "feature"
PLURAL = {SPEED: "speed patches", FEATURE: "features"}
APPLIED, SKIPPED, DISABLED, OFF = "applied", "skipped", "disabled", "off"


class SwitchError(ValueError):
    """RASA_PATCHES or RASA_PATCHES_DISABLE names something unknown, or a setting is invalid."""


class UpstreamChanged(RuntimeError):
    """Code something depends on for correctness is not the code it was written for."""


@dataclass(frozen=True)
class Patch:
    """One change to Rasa: where it lives, what it was written for, what upstream it replaces.

    `module` has `apply()` (idempotent) and may have `switch(env) -> (on, description)` for a
    setting of its own (the parse cache's size). `upstream` maps "module:Qual.name" (or a bare
    module name: the whole file) to its fingerprint.
    """

    name: str
    module: str
    does: str
    written_for: Mapping[str, str]
    upstream: Mapping[str, str]
    kind: str = SPEED


@dataclass(frozen=True)
class Outcome:
    """What became of one patch at start-up, and why."""

    patch: Patch
    status: str
    reason: str = ""


def source_of(target: str) -> str:
    """The installed source text of "package.module:Qual.name", or of a whole module."""
    module_name, _, qualname = target.partition(":")
    spec = importlib.util.find_spec(module_name)
    origin = spec.origin if spec else None
    if not origin or not origin.endswith(".py"):
        raise LookupError(f"no source file for {module_name}")
    text = Path(origin).read_text(encoding="utf-8")
    if not qualname:
        return text
    body: Sequence[ast.stmt] = ast.parse(text).body
    node: Optional[ast.stmt] = None
    for part in qualname.split("."):
        found = [
            n
            for n in body
            if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name == part
        ]
        if not found:
            raise LookupError(f"{qualname} not found in {module_name}")
        node = found[-1]  # a later definition replaces an earlier one, as at run time
        body = node.body if isinstance(node, ast.ClassDef) else []
    assert node is not None and node.end_lineno is not None
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return "".join(text.splitlines(keepends=True)[start - 1 : node.end_lineno])


def fingerprint(target: str) -> str:
    """The first 16 hex digits of the SHA-256 of `source_of(target)`."""
    return hashlib.sha256(source_of(target).encode("utf-8")).hexdigest()[:16]


def installed_version(distribution: str) -> str:
    """The installed version of `distribution`, or "not installed"."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def mismatch(written_for: Mapping[str, str], upstream: Mapping[str, str]) -> Optional[str]:
    """Why this is not the code something was written for (None: it is)."""
    versions = [
        f"written for {dist} {wanted}, found {installed_version(dist)}"
        for dist, wanted in written_for.items()
        if installed_version(dist) != wanted
    ]
    changed = []
    for target, wanted in upstream.items():
        try:
            found = fingerprint(target)
        except (LookupError, OSError, SyntaxError, ImportError, ValueError) as error:
            found = f"unreadable: {error}"
        if found != wanted:
            changed.append(f"{target} changed (fingerprint {found}, written for {wanted})")
    if versions and not changed:
        versions.append("the upstream code is unchanged: re-check, then update the declaration")
    return "; ".join(versions + changed) or None


def require_upstream(
    name: str, written_for: Mapping[str, str], upstream: Mapping[str, str]
) -> None:
    """Raises `UpstreamChanged` naming `name` unless upstream is what it was written for."""
    reason = mismatch(written_for, upstream)
    if reason:
        raise UpstreamChanged(f"{name} refuses to start: {reason}")


def _names(raw: str) -> List[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


def deselected(known: Sequence[str], env: Mapping[str, str]) -> Dict[str, str]:
    """The names the environment turns off, each with the setting that does it."""
    chosen = env.get(SELECT_ENV, "").strip()
    disabled = _names(env.get(DISABLE_ENV, ""))
    named = [] if chosen.lower() in ("", "all", "none") else _names(chosen)
    unknown = sorted(set(named + disabled) - set(known))
    if unknown:
        raise SwitchError(
            f"{SELECT_ENV}/{DISABLE_ENV} name unknown patches: {', '.join(unknown)}; "
            f"known: {', '.join(known)} (or {SELECT_ENV}=all|none)"
        )
    off: Dict[str, str] = {}
    for name in known:
        if chosen.lower() == "none":
            off[name] = f"{SELECT_ENV}=none"
        elif named and name not in named:
            off[name] = f"not in {SELECT_ENV}"
        elif name in disabled:
            off[name] = DISABLE_ENV
    return off


def apply_selected(patches: Sequence[Patch], env: Mapping[str, str]) -> List[Outcome]:
    """Applies each patch the environment selects whose upstream code matches; says what became
    of each. Raises SwitchError for an unknown name or an invalid setting."""
    off = deselected([p.name for p in patches], env)
    outcomes = []
    for patch in patches:
        if patch.name in off:
            outcomes.append(Outcome(patch, DISABLED, off[patch.name]))
            continue
        reason = mismatch(patch.written_for, patch.upstream)
        if reason:
            outcomes.append(Outcome(patch, SKIPPED, reason))
            continue
        module = importlib.import_module(patch.module)
        switch = getattr(module, "switch", None)
        on, description = switch(env) if switch else (True, "")
        if not on:
            outcomes.append(Outcome(patch, OFF, description))
            continue
        module.apply()
        outcomes.append(Outcome(patch, APPLIED, description))
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> List[Tuple[int, str]]:
    """The start-up log: (level, line), one warning per skipped patch, then one line per kind."""
    lines = [
        (
            logging.WARNING,
            f"Rasa {o.patch.kind} {o.patch.name} SKIPPED, Rasa's own code runs instead: {o.reason}",
        )
        for o in outcomes
        if o.status == SKIPPED
    ]
    for kind in (SPEED, FEATURE):
        mine = [o for o in outcomes if o.patch.kind == kind]
        if not mine:
            continue
        parts = []
        for status in (APPLIED, SKIPPED, DISABLED, OFF):
            named = [
                o.patch.name + (f" ({o.reason})" if o.reason and status != SKIPPED else "")
                for o in mine
                if o.status == status
            ]
            if named:
                parts.append(f"{status}: {', '.join(named)}")
        lines.append((logging.INFO, f"Rasa {PLURAL[kind]}: " + "; ".join(parts)))
    return lines


def log_outcomes(outcomes: Sequence[Outcome]) -> None:
    """Writes `summary(outcomes)` to this module's logger."""
    for level, line in summary(outcomes):
        logger.log(level, line)
