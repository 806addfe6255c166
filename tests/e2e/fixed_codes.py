"""The action server with deterministic verification codes, for tests that run the same
conversations on two servers and compare them (tests/e2e/test_patches_equivalence.py):

    python -m tests.e2e.fixed_codes --actions actions -p 5055

The n-th code this process issues is the same in every run, and never 000000 (a wrong code
the conversations type on purpose). Everything else is actions.server as it is.
"""

from __future__ import annotations

import itertools
import sys
from typing import Callable, Iterator


def fixed_codes() -> Callable[[], str]:
    """A code generator giving 581516, 618631, ... in this order, in every process."""
    numbers: Iterator[int] = itertools.count(1)
    return lambda: f"{(next(numbers) * 37115 + 444401) % 900000 + 100000:06d}"


def main() -> int:
    """Runs actions.server with the store's code generator replaced."""
    from actions import server
    from core.store import verification

    verification._new_code = fixed_codes()
    return server.main()


if __name__ == "__main__":
    sys.exit(main())
