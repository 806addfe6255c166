"""The kept-alive action client answers as Rasa's `EndpointConfig.request`, on fewer connections.

Every test talks to a real HTTP server on 127.0.0.1, in a thread with its own event loop: a
client loop blocked in `time.sleep` then misses the server closing a connection, as a busy Rasa
loop would.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import gc
import json
import logging
import marshal
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import warnings
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
import certifi
import pytest
import ujson
import uvloop
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.exceptions import FileNotFoundException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from sanic.config import DEFAULT_CONFIG

from rasa_patches import action_client

CHINESE = {"text": "我想退订腾讯视频VIP，谢谢！", "nested": [{"a": ["验证码", 1.5, None, True]}]}


@pytest.fixture(autouse=True)
def fixed() -> None:
    action_client.apply()


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class _Server:
    """An aiohttp server in a thread of its own, noting the connection of each request."""

    def __init__(self, port: int = 0, close_after: Optional[float] = None) -> None:
        self.transports: List[Any] = []  # one per TCP connection; a client port can come back
        self.close_after = close_after
        self.sock = _listening_socket(port)
        self.port = self.sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.SockSite(runner, self.sock).start())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.transports.append(request.transport)
        if self.close_after is not None:  # a keep-alive timeout, precisely (aiohttp's is lax)
            self._loop.call_later(self.close_after, request.transport.close)
        body = await request.read()
        if request.path.startswith("/status/"):
            return web.Response(status=int(request.path[8:]), text="拒绝: refused")
        if request.path == "/text":
            return web.Response(text="plain")
        if request.path == "/slow":
            await asyncio.sleep(0.05)
        headers = {k: v for k, v in request.headers.items() if k != "Content-Length"}
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": list(request.query.items()),
                "headers": headers,
                "body": body.decode("utf-8"),
            }
        )

    @property
    def connections(self) -> int:
        return len({id(transport) for transport in self.transports})

    def url(self, path: str = "/webhook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def server() -> Any:
    srv = _Server()
    yield srv
    srv.stop()


LOOPS = [asyncio.SelectorEventLoop, uvloop.new_event_loop]  # Rasa under Sanic runs uvloop


def _run(coro: Awaitable[Any], new_loop: Callable[[], Any] = asyncio.new_event_loop) -> Any:
    """`asyncio.run` on a loop of the given kind."""
    loop = new_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _outcome(call: Callable[[], Awaitable[Any]]) -> Any:
    """The answer, or the error as (type, str, status, text), so both clients can be compared."""
    try:
        return await call()
    except Exception as e:
        return type(e), str(e), getattr(e, "status", None), getattr(e, "text", None)


def _both(endpoint: EndpointConfig, **kwargs: Any) -> Tuple[Any, Any]:
    async def go() -> Tuple[Any, Any]:
        rasa = await _outcome(lambda: action_client._original(endpoint, **dict(kwargs)))
        ours = await _outcome(lambda: endpoint.request(**dict(kwargs)))
        return rasa, ours

    return _run(go())


def test_apply_is_idempotent() -> None:
    """Applying twice leaves the fixed method in place; Rasa's is kept for comparison."""
    action_client.apply()
    action_client.apply()
    assert EndpointConfig.request is action_client.request
    assert action_client._original.__module__ == "rasa.utils.endpoints"


def test_keepalive_is_well_under_the_action_servers() -> None:
    """rasa_sdk keeps Sanic's default keep-alive timeout; we stop reusing connections far sooner."""
    assert DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"] >= 2 * action_client.KEEPALIVE_TIMEOUT


def test_sequential_requests_share_one_connection(server: _Server) -> None:
    """Twenty calls in a row are twenty answers over one TCP connection (Rasa: twenty)."""
    endpoint = EndpointConfig(server.url())

    async def go() -> List[Any]:
        return [await endpoint.request(json={"i": i}) for i in range(20)]

    answers = _run(go())
    assert [json.loads(a["body"]) for a in answers] == [{"i": i} for i in range(20)]
    assert server.connections == 1


@pytest.mark.parametrize(
    "endpoint_kwargs, call",
    [
        ({}, {"json": CHINESE}),
        ({}, {"json": CHINESE, "compress": True}),
        ({}, {"json": CHINESE, "content_type": None}),
        ({}, {"method": "get", "subpath": "/sub/path"}),
        ({}, {"data": b"raw", "content_type": "text/plain"}),
        ({"params": {"a": "1"}, "token": "tok", "token_name": "auth"}, {"params": {"b": "2"}}),
        (
            {"headers": {"X-Endpoint": "e"}, "basic_auth": {"username": "u", "password": "p"}},
            {"json": {"x": 1}, "headers": {"X-Call": "c", "X-Endpoint": "overridden"}},
        ),
    ],
)
def test_answers_are_rasas(server: _Server, endpoint_kwargs: dict, call: dict) -> None:
    """URL, method, query (params and token), headers and the decoded body are Rasa's."""
    rasa, ours = _both(EndpointConfig(server.url(), **endpoint_kwargs), **call)
    assert isinstance(ours, dict)
    for answer in (rasa, ours):
        if "json" in call:  # other bytes (UTF-8, not \u escapes), decoding to the same
            answer["as_sanic_reads_it"] = ujson.loads(answer["body"])
            answer["body"] = json.loads(answer["body"])
    assert ours == rasa


@pytest.mark.parametrize(
    "path, call",
    [
        ("/text", {}),
        ("/status/400", {"json": {}}),
        ("/status/404", {"method": "get"}),
        ("/status/500", {"json": CHINESE}),
        ("/status/503", {}),
    ],
)
def test_other_answers_and_errors_are_rasas(server: _Server, path: str, call: dict) -> None:
    """A non-JSON answer is None; 4xx/5xx raise Rasa's ClientResponseError with status and body."""
    rasa, ours = _both(EndpointConfig(server.url(path)), **call)
    assert ours == rasa
    if path == "/text":
        assert ours is None
    else:
        assert ours[0] is ClientResponseError and ours[2] == int(path[8:])
        assert ours[3] == "拒绝: refused".encode()


def test_refused_arguments_fail_as_in_rasa(server: _Server) -> None:
    """An unencodable body, or both json and data, give aiohttp's own errors, as before."""
    endpoint = EndpointConfig(server.url())
    for call in ({"json": {"when": datetime.date(2024, 1, 1)}}, {"json": {}, "data": b"x"}):
        rasa, ours = _both(endpoint, **call)
        assert ours == rasa and isinstance(ours, tuple)
    with _listening_socket() as closed:  # bound, not listening: connection refused
        rasa, ours = _both(EndpointConfig(f"http://127.0.0.1:{closed.getsockname()[1]}"))
    assert ours[0] is rasa[0] is aiohttp.ClientConnectorError


def test_a_missing_cafile_fails_as_in_rasa(tmp_path: Path) -> None:
    """The same FileNotFoundException and message as Rasa's."""
    endpoint = EndpointConfig("https://127.0.0.1:1/webhook", cafile=str(tmp_path / "none.pem"))
    rasa, ours = _both(endpoint)
    assert ours == rasa
    assert ours[0] is FileNotFoundException and "does not exist" in ours[1]


def test_the_ssl_context_is_built_once_per_cafile(tmp_path: Path) -> None:
    """The same context for every call, a new one once the file changes."""
    cafile = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), cafile)
    first = action_client._ssl_context(str(cafile))
    assert action_client._ssl_context(str(cafile)) is first
    os.utime(cafile, ns=(1, 1))
    assert action_client._ssl_context(str(cafile)) is not first


def _stale_connection_case(
    server: _Server, wait: Callable[[], Awaitable[None]], new_loop: Callable[[], Any]
) -> None:
    endpoint = EndpointConfig(server.url())

    async def go() -> None:
        await endpoint.request(json={"first": 1})
        await wait()
        assert json.loads((await endpoint.request(json={"second": 2}))["body"]) == {"second": 2}

    _run(go(), new_loop)


async def _blocked(seconds: float = 0.6) -> None:
    time.sleep(seconds)  # the client's loop sees nothing of the server closing meanwhile


async def _idle(seconds: float = 0.6) -> None:
    await asyncio.sleep(seconds)


@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("wait", [_blocked, _idle])
def test_a_server_closing_idle_connections_fails_no_call(wait: Callable, new_loop: Any) -> None:
    """The server closes idle connections after 0.2 s, before we do: the next call opens one."""
    srv = _Server(close_after=0.2)
    try:
        _stale_connection_case(srv, wait, new_loop)
        assert srv.connections == 2
    finally:
        srv.stop()


def test_without_the_check_a_blocked_loop_would_send_on_a_closed_connection() -> None:
    """The case above is real: aiohttp's own pool hands out the closed connection, and fails."""
    srv = _Server(close_after=0.2)

    async def go() -> None:
        connector = aiohttp.TCPConnector(keepalive_timeout=action_client.KEEPALIVE_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.post(srv.url(), json={}) as response:
                await response.read()
            await _blocked()
            with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
                async with session.post(srv.url(), json={}) as response:
                    await response.read()

    try:
        _run(go())
    finally:
        srv.stop()


@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("blocked", [True, False])
def test_a_server_restarted_between_two_calls_fails_no_call(blocked: bool, new_loop: Any) -> None:
    """The server stops (closing its connections) and starts again on the same port."""
    servers = [_Server()]

    async def restart() -> None:
        servers[0].stop()
        servers.append(_Server(port=servers[0].port))
        if not blocked:
            await asyncio.sleep(0.1)

    try:
        _stale_connection_case(servers[0], restart, new_loop)
        assert servers[1].connections == 1
    finally:
        servers[-1].stop()


# rasa_sdk's server, Sanic 21.12 run as rasa_sdk runs it, in a process of its own (Sanic patches
# its classes at startup, once per process), here with a 0.3 s keep-alive timeout.
_SANIC = """
import socket, sys
from sanic import Sanic, response

app = Sanic("action_server", configure_logging=False)
app.config.KEEP_ALIVE_TIMEOUT = 0.3
seen = []

@app.post("/webhook")
async def webhook(request):
    seen.append(request.transport)
    connections = len({id(transport) for transport in seen})
    return response.json({"events": [], "got": request.json, "connections": connections})

@app.get("/health")
async def health(request):
    return response.text("ok")

app.run(sock=socket.socket(fileno=int(sys.argv[1])), access_log=False)
"""


@pytest.fixture(scope="module")
def sanic_url() -> Any:
    sock = _listening_socket()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SANIC, str(sock.fileno())],
        pass_fds=[sock.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        yield f"{url}/webhook"
    finally:
        proc.terminate()
        proc.wait(15)
        sock.close()


@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("wait", [_blocked, _idle])
def test_sanic_timing_out_idle_connections_fails_no_call(
    sanic_url: str, wait: Callable, new_loop: Any
) -> None:
    """Against Sanic itself, its keep-alive timeout shorter than ours: each call a new one."""
    endpoint = EndpointConfig(sanic_url)

    async def go() -> List[int]:
        counts = []
        for _ in range(3):
            answer = await endpoint.request(json=CHINESE)
            assert answer["got"] == CHINESE
            counts.append(answer["connections"])
            await wait()
        return counts

    first, second, third = _run(go(), new_loop)
    assert second == first + 1 and third == second + 1


def test_concurrent_calls_all_succeed(server: _Server) -> None:
    """Fifty coroutines at once, twice: every answer right, connections reused the second time."""
    endpoint = EndpointConfig(server.url("/slow"))

    async def batch() -> None:
        answers = await asyncio.gather(*(endpoint.request(json={"i": i}) for i in range(50)))
        assert [json.loads(a["body"])["i"] for a in answers] == list(range(50))

    async def go() -> None:
        await batch()
        await batch()

    _run(go())
    assert server.connections <= 50


def test_sessions_are_per_loop_and_settings(server: _Server) -> None:
    """Equal settings share a session; other headers get another; each loop has its own."""

    async def sessions() -> Tuple[aiohttp.ClientSession, ...]:
        found = []
        for headers in ({"X": "1"}, {"X": "1"}, {"X": "2"}):
            endpoint = EndpointConfig(server.url(), headers=headers)
            await endpoint.request(json={})
            found.append(await action_client._session(endpoint))
        return tuple(found)

    first = _run(sessions())
    assert first[0] is first[1] and first[0] is not first[2]
    assert all(s.closed for s in first)  # asyncio.run's shutdown_asyncgens closed them
    second = _run(sessions())
    assert not set(first) & set(second)


@pytest.mark.parametrize("new_loop", LOOPS)
def test_a_loop_closed_without_cleanup_leaves_no_session_behind(
    server: _Server, new_loop: Callable[[], asyncio.AbstractEventLoop], caplog: Any
) -> None:
    """As Sanic stops: loop closed, no shutdown_asyncgens. The next loop works; nothing reported.

    (Its sockets are left to the garbage collector, with a ResourceWarning, silent by default:
    nothing can close them once their loop is closed. The after_server_stop listener can.)
    """
    endpoint = EndpointConfig(server.url())
    loop = new_loop()
    caplog.set_level(logging.ERROR)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop.run_until_complete(endpoint.request(json={}))
        loop.close()
        assert _run(endpoint.request(json={"again": 1}))["body"] == '{"again":1}'
        assert loop not in action_client._sessions
        gc.collect()
    unclosed = re.compile(r"Unclosed (client session|connector)")
    assert not [str(w.message) for w in caught if unclosed.search(str(w.message))]
    assert not unclosed.search(caplog.text)


def test_close_sessions_closes_them_and_reports_nothing(server: _Server, caplog: Any) -> None:
    """close_sessions() (a Sanic listener) closes the loop's sessions; a later call opens anew."""
    endpoint = EndpointConfig(server.url())

    async def go() -> None:
        await endpoint.request(json={})
        session = await action_client._session(endpoint)
        await action_client.close_sessions(None, None)
        assert session.closed
        await endpoint.request(json={})
        assert not (await action_client._session(endpoint)).closed

    caplog.set_level(logging.ERROR)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(go())
        gc.collect()
    assert not [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert "nclosed" not in caplog.text
    assert server.connections == 2


class _Colour(enum.Enum):
    RED = "red"


class _Label(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        {"deep": [1, {"x": float("-inf")}]},
        {"confidence": float("inf")},
        {1: "int key"},
        {"big": 2**64},
        {"surrogate": "\ud800"},
        {"enum": _Colour.RED},
        {"uuid": uuid.UUID(int=1)},
        {"label": _Label("x")},
        {"set": {1}},
        {"date": datetime.date(2024, 1, 1)},
    ],
)
def test_values_orjson_would_encode_differently_go_to_stdlib(value: Any) -> None:
    """NaN/Infinity, non-str keys, big ints, surrogates, other types: left to stdlib."""
    assert action_client.encode_json(value) is None


def _tracker_body() -> Dict[str, Any]:
    tracker = DialogueStateTracker("a3f5c1d2e4b6", slots=[])
    for turn in range(15):
        text = f"我想退订腾讯视频VIP {turn}"
        ranking = [{"name": f"intent_{i}", "confidence": 0.9 / (i + 1)} for i in range(10)]
        parse_data = {"text": text, "intent": ranking[0], "intent_ranking": ranking}
        tracker.update(UserUttered(text, ranking[0], [], parse_data, input_channel="rest"))
        tracker.update(SlotSet("phone_number", "13800138000"))
        tracker.update(ActionExecuted("cancel_form", policy="RulePolicy", confidence=1.0))
        tracker.update(BotUttered("请告诉我您的手机号码。", {"buttons": None}, {"utter": "x"}))
        tracker.update(ActionExecuted("action_listen"))
    return {"next_action": "action_x", "tracker": tracker.current_state(EventVerbosity.ALL)}


def test_a_tracker_body_takes_the_fast_path_and_decodes_as_stdlibs() -> None:
    """A 15-turn tracker: orjson's bytes decode (json, and ujson as Sanic does) to stdlib's."""
    if action_client.orjson is None:
        pytest.skip("orjson is not installed: every body goes to stdlib")
    body = _tracker_body()
    fast = action_client.encode_json(body)
    assert fast is not None
    slow = json.dumps(body)
    assert json.loads(fast) == json.loads(slow)
    assert ujson.loads(fast) == ujson.loads(slow)
    assert "我想退订" in fast.decode("utf-8")


def test_without_orjson_bodies_go_to_stdlib(server: _Server, monkeypatch: Any) -> None:
    """Before orjson is installed: stdlib encodes, the answers are still Rasa's."""
    monkeypatch.setattr(action_client, "orjson", None)
    assert action_client.encode_json(CHINESE) is None
    rasa, ours = _both(EndpointConfig(server.url()), json=CHINESE)
    assert ours == rasa and json.loads(ours["body"]) == CHINESE


_KEYS = st.text() | st.sampled_from(["text", "意图", ""])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(st.characters(codec=None))
    | st.sampled_from(["退订", "\u2028", '"\\/', "\ud800", 2**64, -(2**63) - 1, 1e300, -0.0])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.tuples(inner, inner)
    | st.dictionaries(_KEYS | st.integers(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_encoded_values_decode_as_stdlibs(value: Any) -> None:
    """Whatever is encoded decodes to what stdlib's JSON decodes to; stdlib's failures stay its."""
    fast = action_client.encode_json(value)
    try:
        slow: Optional[str] = json.dumps(value)
    except (TypeError, ValueError):
        slow = None
    if slow is None:
        assert fast is None
    elif fast is not None:
        assert json.loads(fast) == json.loads(slow)  # a NaN as null would differ here


# Bytes dense in the pattern's parts, so near-misses and matches at every offset come up.
_PATTERN_BYTES = st.lists(
    st.sampled_from([b"g", b"\xe7", b"\xf0", b"\xf8", b"\xff", b"\x7f", b"\x00"])
    | st.binary(max_size=3),
    max_size=40,
).map(b"".join)


@settings(max_examples=1000, deadline=None)
@given(_PATTERN_BYTES | st.builds(marshal.dumps, _VALUES))
def test_the_non_finite_check_finds_what_the_regex_finds(data: bytes) -> None:
    """The memchr-led check answers as `_NON_FINITE.search` does, on any bytes."""
    assert action_client.has_non_finite(data) is bool(action_client._NON_FINITE.search(data))


@pytest.mark.parametrize(
    "data",
    [
        marshal.dumps(float("nan")),
        marshal.dumps([1.5, -(2**31), {"x": float("-inf")}]),
        b"g" + b"\x00" * 6 + b"\xf0\x7f",
        b"\xff" * 20 + b"\xe7" + b"\x01" * 6 + b"\xf8\xff",
        marshal.dumps([-1] * 50 + [0.5]),
    ],
)
def test_the_non_finite_check_on_chosen_bytes(data: bytes) -> None:
    assert action_client.has_non_finite(data) is bool(action_client._NON_FINITE.search(data))
