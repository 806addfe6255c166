"""Checks of a request for the chat page's files, and the JSON errors for bad ones."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.guard import RequestRejected
from channels.web.assets import ASSETS

ALLOWED_METHODS = "GET, HEAD"
READ_METHODS = ("GET", "HEAD")
# Every method is routed to the page's handlers so that a wrong one gets a JSON 405 from
# `read_only`, not Sanic's HTML error page.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
Handler = Callable[..., Awaitable[HTTPResponse]]


def check_asset_name(name: str) -> str:
    """The requested asset's name if it is one of the page's files; else RequestRejected(404).

    Only a fixed list of names is served, so `..`, encoded slashes, control characters or
    invalid UTF-8 in the path can never reach the file system.
    """
    if not isinstance(name, str) or name not in ASSETS:
        raise RequestRejected(404, "not_found")
    return name


def error(code: str, status: int, **extra: Any) -> HTTPResponse:
    """A JSON error body {"error": code, "message": 中文} with the given status."""
    messages = {**templates.ERROR_MESSAGES, **templates.WEB_ERROR_MESSAGES}
    body = {"error": code, "message": messages.get(code, code), **extra}
    headers = {"Allow": ALLOWED_METHODS} if status == 405 else None
    return response.json(body, status=status, headers=headers, ensure_ascii=False)


def read_only(handler: Handler) -> Handler:
    """Wraps a route handler so that any method but GET and HEAD gets a JSON 405."""

    @functools.wraps(handler)
    async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if request.method not in READ_METHODS:
            return error("method_not_allowed", 405)
        return await handler(request, *args, **kwargs)

    return checked
