"""`make run`: the action server and the Rasa server in the foreground; Ctrl-C stops both.

Closed by default: both listen on 127.0.0.1 (`HOST`, `ACTION_HOST`), Rasa's HTTP API is off
unless RASA_API_TOKEN is set (then on, with that token), and the action server accepts only
calls carrying ACTION_SERVER_TOKEN, which Rasa sends as a header from its endpoints file. In
development an unset ACTION_SERVER_TOKEN or CHANNEL_ASSERTION_KEY gets a random value for
this run, the same for both servers; with DEPLOY_ENV=production nothing is made up and both
servers' secrets are checked first (tools/production_check.py): any unfit, and nothing starts.
Ports: RASA_PORT (5005), ACTION_PORT (5055); CORS_ORIGINS (*). Starting is stack/launch.py.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from stack.launch import API_TOKEN_ENV, DEFAULT_HOST, StartError, build, refusal, server_env

# `make run` has always given the servers three minutes to answer.
READY_TIMEOUT = 180.0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Runs both servers in the foreground; non-zero when either refuses or stops."""
    # Stopped by a service manager or a container runtime (SIGTERM) as by Ctrl-C: both
    # servers are stopped too, none is left running on its own.
    signal.signal(signal.SIGTERM, _interrupt)
    env = server_env(os.environ)
    refused = refusal(env)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    host = env.get("HOST", "").strip() or DEFAULT_HOST
    api_token = env.get(API_TOKEN_ENV, "").strip() or None
    with tempfile.TemporaryDirectory() as tmp:
        stack = build(
            Path(tmp),
            env,
            rasa_port=int(env.get("RASA_PORT", "5005")),
            action_port=int(env.get("ACTION_PORT", "5055")),
            host=host,
            action_host=env.get("ACTION_HOST", "").strip() or DEFAULT_HOST,
            cors=env.get("CORS_ORIGINS", "*"),
            api_token=api_token,
            logs=False,
        )
        try:
            stack.start(timeout=READY_TIMEOUT)
            base = stack.url
            api = "on (?token=$RASA_API_TOKEN)" if api_token else "off (set RASA_API_TOKEN)"
            print(
                f"\n退订助手 is ready. Chat page: {base}/chat  REST: {base}/webhooks/rest/"
                f"webhook  HTTP API: {api}  (Ctrl-C stops)\n"
            )
            while stack.all_running():
                time.sleep(1)
            return 1
        except StartError:
            print("A server failed to start; see the log above.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
