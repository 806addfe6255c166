"""The core is importable without Rasa: no module of core/ imports rasa or rasa_sdk, even
indirectly, and what it used to borrow from Rasa gives Rasa's own answer."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore

import core
from core.store.tracker_retention import _db_url

ROOT = Path(__file__).resolve().parents[2]

# Imports every module of the core with rasa and rasa_sdk made unimportable.
_PROBE = r"""
import importlib, importlib.abc, pkgutil, sys

class NoRasa(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("rasa", "rasa_sdk"):
            raise ImportError(f"the core imported {name}")
        return None

sys.meta_path.insert(0, NoRasa())
import core
for info in pkgutil.walk_packages(core.__path__, "core."):
    if ".migrations" not in info.name:
        importlib.import_module(info.name)
print("ok")
"""


def test_every_core_module_imports_without_rasa() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_probe_sees_every_module() -> None:
    names = [i.name for i in pkgutil.walk_packages(core.__path__, "core.")]
    assert {"core.store.services", "core.phone", "core.identity.assertion"} <= set(names)


@pytest.mark.parametrize(
    "settings",
    [
        dict(dialect="postgresql", host="db.internal", port=5432, db="rasa", username="u",
             password="p@ss", query={"sslmode": "require"}),
        dict(dialect="postgresql", host="db.internal:6543", port=5432, db="rasa", username="u",
             password=None, query={}),
        dict(dialect="sqlite", host=None, port=None, db="rasa.db", username=None,
             password=None, query={}),
        dict(dialect="postgresql", host="postgresql://u:p@h:1/x", port=None, db="rasa",
             username=None, password=None, query={}),
    ],
)  # fmt: skip
def test_the_tracker_store_url_is_the_one_rasa_connects_to(settings: dict) -> None:
    theirs = SQLTrackerStore.get_db_url(**settings)
    theirs = theirs if isinstance(theirs, str) else theirs.render_as_string(hide_password=False)
    assert _db_url(**settings) == theirs
