"""`python -m rasa_patches.fingerprints`: each declaration of catalog.py against the installed
code, for re-checking the patches after an upgrade. Exit status 1 when any differs."""

from __future__ import annotations

import sys
from typing import List, Sequence

from rasa_patches import catalog, guard


def report(patches: Sequence[guard.Patch]) -> List[str]:
    """One line per patch: its name and `ok`, or why it would be skipped."""
    lines = []
    for patch in patches:
        reason = guard.mismatch(patch.written_for, patch.upstream)
        lines.append(f"{patch.name}: {reason or 'ok'}")
        for target in patch.upstream:
            try:
                found = guard.fingerprint(target)
            except (LookupError, OSError, SyntaxError, ImportError, ValueError) as error:
                found = f"unreadable: {error}"
            lines.append(f"    {target}: {found}")
    return lines


def main() -> int:
    """Prints the report; non-zero when any patch would be skipped."""
    print("\n".join(report(catalog.ALL)))
    return int(any(guard.mismatch(p.written_for, p.upstream) for p in catalog.ALL))


if __name__ == "__main__":
    sys.exit(main())
