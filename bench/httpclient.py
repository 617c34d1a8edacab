"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for P3.

No HTTP client library is a dependency of the project, and the load generator should spend
as little of its core as possible per request: this one parses just enough of a response
(status, headers, Content-Length or chunked body) to reuse the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpConnection:
    """One persistent connection; reopened transparently when the server closes it."""

    def __init__(self, host: str, port: int, host_header: str | None = None) -> None:
        self.host = host
        self.port = port
        # Behind a proxy every worker sees the site's Host, not its own port (CSRF compares
        # the Origin with it).
        self.host_header = host_header or f"{host}:{port}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Response:
        if self._writer is None:
            await self._open()
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}",
                 f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        response = await self._read_response()
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read_response(self) -> Response:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                # Several Set-Cookie headers: keep them all, newline-separated.
                if name in headers:
                    headers[name] += "\n" + value.strip()
                else:
                    headers[name] = value.strip()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.read()
            await self.close()
        return Response(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
