"""A minimal browser for the scale-out tests: cookies, CSRF, JSON over real HTTP, and
websockets with the cookies and Origin a browser would send."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 10

# No proxies (the servers are on 127.0.0.1) and no redirects (a 302 is an answer here).
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
         {"redirect_request": lambda *args, **kwargs: None}),
)


class Browser:
    def __init__(self, cookies: dict[str, str] | None = None) -> None:
        self.cookies: dict[str, str] = dict(cookies or {})
        # The headers of the last response (Retry-After, Cache-Control...), any case.
        self.headers: Any = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _remember(self, headers: Any) -> None:
        for header in headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def post(self, base_url: str, path: str, data: dict[str, Any] | None = None,
             *, form: bool = False, timeout: float = TIMEOUT) -> tuple[int, Any]:
        """POST as the page's script would: JSON (or a form), the CSRF header, same origin."""
        if form:
            body = "&".join(f"{k}={v}" for k, v in (data or {}).items()).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data or {}).encode()
            content_type = "application/json"
        request = urllib.request.Request(base_url + path, data=body, method="POST")
        request.add_header("Content-Type", content_type)
        request.add_header("Origin", base_url)
        request.add_header("Referer", base_url + "/")
        if "csrftoken" in self.cookies:
            request.add_header("X-CSRFToken", self.cookies["csrftoken"])
        if self.cookies:
            request.add_header("Cookie", self.cookie_header())
        try:
            response = _opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:  # 3xx/4xx/5xx still carry cookies
            response = error
        with response:
            self._remember(response.headers)
            self.headers = response.headers
            raw = response.read()
            status = response.status if hasattr(response, "status") else response.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    async def socket(self, ws_url: str, path: str, *, origin: str,
                     timeout: float = TIMEOUT) -> Socket:
        connection = await connect(
            ws_url + path, origin=origin, proxy=None, open_timeout=timeout,
            additional_headers={"Cookie": self.cookie_header()} if self.cookies else None,
        )
        return Socket(connection)


class Socket:
    """A websocket that reads JSON frames, with timeouts, and keeps what it skipped."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, **frame: Any) -> None:
        await self.connection.send(json.dumps(frame))

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def receive_type(self, kind: str, timeout: float = TIMEOUT,
                           **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (whose fields equal ``match``), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive(max(deadline - loop.time(), 0.01))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def receive_message(self, message_id: int, timeout: float = TIMEOUT) -> dict:
        """The ``message.created`` of one message, skipping everything else."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive_type("message.created",
                                            max(deadline - loop.time(), 0.01))
            if frame["message"]["id"] == message_id:
                return frame["message"]

    async def close_code(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; its close code."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.connection.close()
