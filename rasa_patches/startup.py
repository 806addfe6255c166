"""The one way the project starts Rasa: `python -m rasa_patches <rasa arguments>`.

It is `rasa <rasa arguments>` (Rasa's own CLI, same options, same exit status) with, once Rasa
has set up its logging and before the command runs:
1. every log record of the process redacted (redaction/logs.py);
2. for the commands that serve (`run`, `shell`), the production check: with
   DEPLOY_ENV=production the process ends naming every unfit secret, before it serves;
3. the speed patches and features of catalog.py that the environment leaves on and whose
   upstream code matches, and the always-on features (n-best) whose upstream code matches,
   then one log line per kind saying what was applied and what not.
Steps 1-3 run from Rasa's own `configure_commandline` plugin hook: after Rasa configures
logging and structlog (which would drop a redacting processor installed earlier), and in the
process that serves (Sanic's workers are forked from it, so they inherit the patches).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, Mapping, Optional, Sequence

import pluggy

from rasa_patches import catalog, guard

SERVING_COMMANDS = ("run", "shell")
_hookimpl = pluggy.HookimplMarker("rasa")


def command_of(argv: Sequence[str]) -> Optional[str]:
    """The Rasa subcommand in `rasa` arguments (`run`, `shell`, `test`...), or None."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def prepare(command: Optional[str], env: Optional[Mapping[str, str]] = None) -> List[guard.Outcome]:
    """Redaction, the production check (serving commands), then the patches; their outcomes.

    Ends the process (SystemExit, status 1) with one clear message for an unfit production
    secret or an unknown name in RASA_PATCHES / RASA_PATCHES_DISABLE or PARSE_CACHE_SIZE.
    """
    from redaction import logs
    from tools.production_check import check_rasa_server

    env = os.environ if env is None else env
    logs.install()
    if command in SERVING_COMMANDS:
        check_rasa_server(env)
    try:
        outcomes = guard.apply_selected(catalog.SWITCHED, env)
        # No switch reaches these: an empty environment selects all of them.
        outcomes += guard.apply_selected(catalog.ALWAYS_ON, {})
    except (guard.SwitchError, ValueError) as error:
        raise SystemExit(f"rasa_patches: refusing to start: {error}") from error
    guard.log_outcomes(outcomes)
    return outcomes


class _BeforeTheCommand:
    """Rasa plugin: wraps the parsed command so that `prepare` runs right before it."""

    def __init__(self, command: Optional[str]) -> None:
        self.command = command

    @_hookimpl
    def configure_commandline(self, cmdline_arguments: Any) -> None:
        """Rasa's hook, called once logging is set up; runs `prepare` before the command."""
        run: Callable[[Any], Any] = cmdline_arguments.func

        def prepared(args: Any) -> Any:
            prepare(self.command)
            return run(args)

        cmdline_arguments.func = prepared
        return None


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Runs Rasa's CLI with `argv` (default: this process's arguments) as `rasa` would."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["rasa", *args]  # Rasa and the production check read sys.argv
    from rasa.plugin import plugin_manager

    plugin_manager().register(_BeforeTheCommand(command_of(args)))
    import rasa.__main__

    rasa.__main__.main()
