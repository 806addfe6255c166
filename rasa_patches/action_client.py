"""Calling the action server over kept-alive connections, with a faster request body.

Rasa 3.6's `EndpointConfig.request` opens a new `aiohttp.ClientSession` for every call: each
custom action (~1.3 per user message) pays a TCP connect and teardown on both sides, and the
tracker in the body goes through stdlib `json.dumps`. Measured with a 15-turn tracker, a call
costs the Rasa server ~0.87 ms of CPU: keeping connections saves ~0.18 ms of it (and ~0.17 ms
of the action server's ~0.47 ms), orjson ~0.28 ms more. Here one session per event loop and endpoint
settings keeps its connections, and a `json=` body is encoded by orjson where that decodes as
stdlib's JSON would (else by aiohttp's stdlib encoder, as before); URL, headers, params and
token, timeout, errors and the decoded answer follow Rasa's code. If a Rasa upgrade stops
opening a session per call in `EndpointConfig.request`, drop this module.
"""

from __future__ import annotations

import asyncio
import atexit
import marshal
import os
import re
import select
import ssl
from typing import Any, AsyncGenerator, Dict, Optional, Tuple

import aiohttp
from aiohttp import payload
from aiohttp.client_exceptions import ContentTypeError
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ConnectionKey
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.exceptions import FileNotFoundException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

try:
    import orjson
except ImportError:  # not installed: every body goes through aiohttp's stdlib encoder
    orjson = None

# rasa_sdk leaves Sanic's KEEP_ALIVE_TIMEOUT at its default, 5 s (SANIC_KEEP_ALIVE_TIMEOUT in
# the action server's environment would change it). Sanic counts idleness from the last byte it
# sent, we from the end of reading the answer, later; aiohttp never hands out a connection idle
# longer than this. So the server never times out a connection we are about to reuse.
KEEPALIVE_TIMEOUT = 2.0

_original = EndpointConfig.request
_sessions: Dict[asyncio.AbstractEventLoop, Dict[str, aiohttp.ClientSession]] = {}
_closers: Dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
_ssl_contexts: Dict[str, Tuple[Tuple[int, int], ssl.SSLContext]] = {}

# A NaN or infinite float as marshal writes it: type byte "g" (with or without its reference
# flag), then the IEEE double little-endian, exponent bits all set. Other bytes may match too:
# those bodies just go to stdlib.
_NON_FINITE = re.compile(rb"[g\xe7].{6}[\xf0-\xff][\x7f\xff]", re.DOTALL)
_FLOAT_TYPES = (ord("g"), ord("g") | 0x80)


def has_non_finite(data: bytes) -> bool:
    """Whether `_NON_FINITE` matches `data`, found from its rare last byte (0x7f or 0xff).

    The regex scans a 30 KB tracker body in ~0.11 ms, two thirds of `encode_json`; memchr for
    the last byte skips almost all of it (UTF-8 text never holds 0xff, seldom 0x7f).
    """
    for last in (b"\x7f", b"\xff"):
        i = data.find(last, 8)
        while i != -1:
            if data[i - 1] >= 0xF0 and data[i - 8] in _FLOAT_TYPES:
                return True
            i = data.find(last, i + 1)
    return False


def _refuse(value: Any) -> Any:
    raise TypeError(value)


def encode_json(value: Any) -> Optional[bytes]:
    """`value` as UTF-8 JSON that decodes as stdlib's does; None where only stdlib will do."""
    if orjson is None:
        return None
    # Where orjson and stdlib differ: orjson writes NaN/Infinity as null (stdlib: NaN, which the
    # action server decodes back), and encodes enums, UUIDs, datetimes, subclasses that stdlib
    # refuses or encodes its own way. marshal refuses all but exact builtin types, the options
    # and `default` make orjson refuse the rest (and non-str keys, ints beyond 64 bits, lone
    # surrogates, nesting past 254 levels): stdlib then gives its own answer, or its own error.
    try:
        if has_non_finite(marshal.dumps(value)):
            return None
        options = (
            orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
        )
        return orjson.dumps(value, default=_refuse, option=options)
    except Exception:
        return None


def _closed_by_peer(proto: ResponseHandler) -> bool:
    # Nothing may arrive on an idle HTTP/1.1 connection: readable means the server's FIN or RST
    # is waiting for an event loop that has been busy (a model prediction) since it came.
    sock = proto.transport.get_extra_info("socket") if proto.transport else None
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


# No retry. A call failing on a reused connection before any answer byte (ServerDisconnectedError,
# ClientOSError for a reset or broken pipe) cannot be told from a server that read it and then
# died or was stopped mid-handler (killed, or Sanic aborting handlers still running after its
# GRACEFUL_SHUTDOWN_TIMEOUT): a retried POST could run an action twice (a second SMS code, a
# second cancellation). aiohttp retries no POST either. Instead no connection the server may
# have closed is reused: Sanic closes a kept-alive connection unanswered only while it is idle
# (keep-alive timeout, close_if_idle on shutdown), and we never reuse one idle past
# KEEPALIVE_TIMEOUT, one aiohttp saw closed, or one whose FIN waits unread. Left: a server
# stopping at the very instant (the network's latency) we send on an idle connection, which
# fails a call on a new connection too.
class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, never handing out a pooled connection the server has closed."""

    def _get(self, key: ConnectionKey) -> Optional[ResponseHandler]:
        while True:
            proto = super()._get(key)
            if proto is None or not _closed_by_peer(proto):
                return proto
            proto.close()


def _ssl_context(cafile: str) -> ssl.SSLContext:
    # Built once per file, and again if the file changes, as Rasa would see a renewed CA.
    try:
        stat = os.stat(cafile)
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = _ssl_contexts.get(cafile)
        if known is None or known[0] != stamp:
            known = _ssl_contexts[cafile] = (stamp, ssl.create_default_context(cafile=cafile))
        return known[1]
    except FileNotFoundError as e:
        raise FileNotFoundException(
            f"Failed to find certificate file, '{os.path.abspath(cafile)}' does not exist."
        ) from e


async def _close_at_shutdown(
    sessions: Dict[str, aiohttp.ClientSession],
) -> AsyncGenerator[None, None]:
    # Started once per loop: `asyncio.run` (loop.shutdown_asyncgens) closes it, hence them.
    try:
        yield
    finally:
        for session in list(sessions.values()):
            await session.close()
        sessions.clear()


def _forget_closed_loops() -> None:
    # A loop closed without shutdown_asyncgens (Sanic's) left its sessions open. Nothing can be
    # awaited there any more: marking their connectors closed (aiohttp then leaves the closed
    # loop's transports alone) stops the "Unclosed client session" report at garbage collection.
    for loop in [loop for loop in list(_sessions) if loop.is_closed()]:
        for session in _sessions.pop(loop, {}).values():
            if session.connector is not None:
                session.connector._close()
        _closers.pop(loop, None)


atexit.register(_forget_closed_loops)


async def _session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    sessions = _sessions.get(loop)
    if sessions is None:
        _forget_closed_loops()
        sessions = _sessions[loop] = {}
        closer = _closers[loop] = _close_at_shutdown(sessions)
        await closer.__anext__()  # reaches its `yield` at once, without giving up the loop
    key = repr((endpoint.headers, endpoint.basic_auth, endpoint.cafile))  # what a session holds
    session = sessions.get(key)
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(
                endpoint.basic_auth["username"], endpoint.basic_auth["password"]
            )
        session = sessions[key] = aiohttp.ClientSession(
            # limit=0: no cap on concurrent calls, as with a session per call; no DNS cache:
            # each new connection resolves the name, as each call did.
            connector=_Connector(keepalive_timeout=KEEPALIVE_TIMEOUT, limit=0, use_dns_cache=False),
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            # A fresh session had no cookies: nothing a server (or balancer) sets is sent back.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
    return session


async def close_sessions(*_: Any) -> None:
    """Closes the running loop's sessions; a Sanic `after_server_stop` listener as it is."""
    loop = asyncio.get_running_loop()
    closer = _closers.pop(loop, None)
    _sessions.pop(loop, None)
    if closer is not None:
        await closer.aclose()


async def request(
    self: EndpointConfig,
    method: str = "post",
    subpath: Optional[str] = None,
    content_type: Optional[str] = "application/json",
    compress: bool = False,
    **kwargs: Any,
) -> Optional[Any]:
    """Rasa's `EndpointConfig.request` on a kept-alive session, with a faster JSON body."""
    headers: Dict[str, Any] = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs["headers"])
        del kwargs["headers"]
    if self.headers:
        headers.update(self.headers)

    url = concat_url(self.url, subpath)
    sslcontext = _ssl_context(self.cafile) if self.cafile else None

    # Both given: left to aiohttp, which refuses them as before. The payload is what aiohttp's
    # JsonPayload is (same Content-Type), with other bytes.
    if kwargs.get("json") is not None and kwargs.get("data") is None:
        body = encode_json(kwargs["json"])
        if body is not None:
            del kwargs["json"]
            kwargs["data"] = payload.BytesPayload(
                body, content_type="application/json", encoding="utf-8"
            )

    session = await _session(self)
    async with session.request(
        method,
        url,
        headers=headers,
        params=self.combine_parameters(kwargs),
        compress=compress,
        ssl=sslcontext,
        **kwargs,
    ) as response:
        if response.status >= 400:
            raise ClientResponseError(
                response.status,
                response.reason,
                await response.content.read(),
            )
        try:
            return await response.json()
        except ContentTypeError:
            return None


def apply() -> None:
    """Replaces the method on Rasa's EndpointConfig."""
    EndpointConfig.request = request
