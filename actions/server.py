"""The action server's entry point: rasa_sdk's app, reachable only by the Rasa server.

    ACTION_SERVER_TOKEN=... python -m actions.server --actions actions -p 5055 [--host 127.0.0.1]

Every `/webhook` and `/actions` request must carry `Authorization: Bearer $ACTION_SERVER_TOKEN`
(the Rasa server sends it from its endpoints file); `/health` stays open for load balancers.
It listens on 127.0.0.1 unless `--host` or ACTION_HOST says otherwise, refuses bodies over
`--max-body-bytes` (8 MiB) and deflate bodies that inflate beyond it (413), and with
DEPLOY_ENV=production refuses to start while a secret it uses is weak (tools/production_check).

rasa_sdk registers every module of the actions package, this one included: nothing here runs
at import.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import os
import sys
import zlib
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

from sanic.exceptions import SanicException

if TYPE_CHECKING:
    from sanic import Sanic
    from sanic.request import Request
    from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
HOST_ENV = "ACTION_HOST"
DEFAULT_HOST = "127.0.0.1"
# A 15-turn tracker is ~30 KB: 8 MiB leaves room for long conversations, and bounds the memory
# one request can take (as sent, and once inflated).
MAX_BODY_BYTES = 8 * 1024 * 1024
OPEN_PATHS = frozenset({"/health"})


def _digest(value: str) -> bytes:
    # Equal-length digests: the comparison takes the same time whatever the token's length.
    return hashlib.sha256(value.encode("utf-8")).digest()


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header value, else ""."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty token never matches."""
    return bool(given) and bool(expected) and hmac.compare_digest(_digest(given), _digest(expected))


class BodyTooLarge(ValueError):
    """The inflated body would exceed the limit."""


def inflate(body: bytes, limit: int) -> bytes:
    """The zlib-deflated `body` inflated, never producing more than `limit` bytes.

    rasa_sdk inflates `Content-Encoding: deflate` with `zlib.decompress` and no limit: a few
    kilobytes can expand to gigabytes. Raises BodyTooLarge past `limit`, zlib.error on bad data.
    """
    inflater = zlib.decompressobj()
    data = inflater.decompress(body, limit + 1)
    if len(data) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"inflated body over {limit} bytes")
    if not inflater.eof:
        raise zlib.error("incomplete deflate stream")
    return data


def guard(token: str, max_body: int) -> Callable[[Request], object]:
    """Request middleware: the token on every path but /health, safe inflating of deflate."""
    from sanic import response

    async def middleware(request: Request) -> Optional[HTTPResponse]:
        if request.path not in OPEN_PATHS:
            given = bearer_token(request.headers.get("authorization", ""))
            if not token_matches(given, token):
                logger.warning(
                    "action server: refused %s %s from %s (%s token)",
                    request.method,
                    request.path,
                    request.remote_addr or request.ip,
                    "wrong" if given else "no",
                )
                return response.json(
                    {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding == "deflate" and request.body:
            try:
                request.body = inflate(request.body, max_body)
            except BodyTooLarge:
                return response.json({"error": "request body too large"}, status=413)
            except zlib.error:
                return response.json({"error": "invalid deflate body"}, status=400)
            # The body is plain JSON now: rasa_sdk must not inflate it again.
            del request.headers["content-encoding"]
        return None

    return middleware


def create_app(
    token: str,
    action_package: str = "actions",
    cors_origins: Optional[List[str]] = None,
    max_body: int = MAX_BODY_BYTES,
    auto_reload: bool = False,
) -> Sanic:
    """rasa_sdk's app with the token check and the body limits."""
    from rasa_sdk.endpoint import create_app as sdk_app

    if not token:
        raise ValueError(f"{TOKEN_ENV} is empty")
    app = sdk_app(action_package, cors_origins=cors_origins or "", auto_reload=auto_reload)
    # Sanic refuses a larger body itself (PayloadTooLarge, answered 413 below).
    app.config.REQUEST_MAX_SIZE = max_body
    app.register_middleware(guard(token, max_body), "request")
    app.error_handler.add(SanicException, http_error)
    app.error_handler.add(Exception, internal_error)
    return app


async def http_error(request: Request, exception: SanicException) -> HTTPResponse:
    """Sanic's own refusals (413, 404, 405, 400) keep their status.

    rasa_sdk's catch-all handler would turn each into a 500.
    """
    from sanic import response

    return response.json({"error": str(exception)}, status=exception.status_code)


async def internal_error(request: Request, exception: Exception) -> HTTPResponse:
    """A failing action: logged here, answered 500 without the request's body.

    rasa_sdk's handler sends the whole tracker back (phone numbers, codes) in the answer.
    """
    from sanic import response

    logger.error("action server: %s %s failed", request.method, request.path, exc_info=exception)
    return response.json({"error": type(exception).__name__}, status=500)


def argument_parser() -> argparse.ArgumentParser:
    """rasa_sdk's own options (port, actions, TLS, logging) plus --host and --max-body-bytes."""
    from rasa_sdk.endpoint import create_argument_parser

    parser = create_argument_parser()
    parser.description = "starts the 退订助手 action server (token-protected)"
    parser.add_argument(
        "--host",
        default=None,
        help=f"interface to listen on (default: ${HOST_ENV}, else {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=MAX_BODY_BYTES,
        help="largest request body, as sent and once inflated (413 beyond it)",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Checks the configuration, then serves until stopped."""
    from tools.production_check import check_action_server

    check_action_server()  # exits, naming every weak secret, in production
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(
            f"action server: {TOKEN_ENV} is unset. Set it to a random value, and the same in the "
            "Rasa server's environment (its endpoints file sends it as a header): "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"',
            file=sys.stderr,
        )
        return 2
    args = argument_parser().parse_args(argv)
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_ssl_context
    from rasa_sdk.plugin import plugin_manager

    # As rasa_sdk's own entry point (rasa_sdk/__main__.py) sets up logging.
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()

    host = args.host or os.environ.get(HOST_ENV, "").strip() or DEFAULT_HOST
    app = create_app(
        token, args.actions or "actions", args.cors, args.max_body_bytes, args.auto_reload
    )
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    protocol = "https" if ssl_context else "http"
    logger.info("Action endpoint is up and running on %s://%s:%s", protocol, host, args.port)
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
