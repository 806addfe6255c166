"""A fingerprint of the code a pipeline component runs, for Rasa's training cache.

Rasa reuses a trained component when its class, configuration and inputs are unchanged; a
component whose behaviour lives in code (the normaliser's rules, the sound tables) would be
restored from the cache after that code changed, and everything after it trained on stale
text. Each such component returns this from `fingerprint_addon`.
"""

from __future__ import annotations

import hashlib
import importlib
from importlib import metadata
from pathlib import Path
from typing import Iterable


def code_fingerprint(modules: Iterable[str], packages: Iterable[str] = ()) -> str:
    """A hash of the named modules' source files and the installed versions of `packages`."""
    digest = hashlib.sha256()
    for name in modules:
        source = importlib.import_module(name).__file__
        digest.update(name.encode() + b"\0" + Path(str(source)).read_bytes())
    for package in packages:
        digest.update(f"{package}=={metadata.version(package)}".encode())
    return digest.hexdigest()
