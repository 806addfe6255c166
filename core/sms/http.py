"""A real SMS provider adapter: POSTs {"to", "text"} as JSON with a Bearer token."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from core.sms.base import SmsError
from core.sms.validation import check_message, mask_number


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without body, silently losing the SMS;
    # a redirect is treated as the non-2xx answer it is.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


class HttpSmsGateway:
    """Hands each message to an HTTP provider; any non-2xx answer or network failure is SmsError."""

    def __init__(self, url: str, token: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        # Only http(s): urllib would otherwise happily open file:// or ftp:// URLs.
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the SMS provider URL must be an http:// or https:// URL")
        if not token:
            raise ValueError("the SMS provider token is empty")
        if timeout <= 0:
            raise ValueError("the SMS provider timeout must be positive")
        self.url = url
        self.timeout = timeout
        self._token = token
        # Errors name the host only: a query string could carry credentials.
        self._where = parts.netloc
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, to: str, text: str) -> None:
        """POSTs the message to the provider; raises SmsError unless it answers 2xx in time."""
        check_message(to, text)
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {self._token}",
            },
        )
        # Messages never include the text (it may hold a code) nor the provider's body
        # (it may echo the text); status and number are enough to find the failure.
        failure = f"SMS to {mask_number(to)} via {self._where} failed"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SmsError(f"{failure}: the provider answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise SmsError(f"{failure}: no answer within {self.timeout:g} s") from exc
            raise SmsError(f"{failure}: could not connect ({exc.reason})") from exc
        except TimeoutError as exc:
            # Raised while reading the answer, after the connection was made.
            raise SmsError(f"{failure}: no answer within {self.timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SmsError(f"{failure}: connection broken ({type(exc).__name__})") from exc
