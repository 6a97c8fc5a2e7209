"""A small asyncio HTTP/1.1 client with keep-alive, light enough to load a server on 2 cores.

General-purpose clients (httpx, aiohttp) spend several milliseconds of CPU per request, which on
a 2-core box is taken straight from the server being measured. This one writes prebuilt request
bytes and parses only what a benchmark needs: status, headers, body (Content-Length or chunked).
"""

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

HOST = "127.0.0.1"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in the order received
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, str]:
        """Name -> value of every Set-Cookie (attributes dropped; deletions give '')."""
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, cookie_value = pair.partition("=")
                jar[name.strip()] = cookie_value.strip().strip('"')
        return jar

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def build_request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    json_body: object = None,
    form: dict[str, str] | None = None,
    keep_alive: bool = True,
) -> bytes:
    """The bytes of one request, built once so the timed loop only writes them."""
    body = b""
    lines = {
        "Host": HOST,
        "User-Agent": "askonce-bench",
        "Connection": "keep-alive" if keep_alive else "close",
    }
    if json_body is not None:
        body = json.dumps(json_body).encode()
        lines["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        lines["Content-Type"] = "application/x-www-form-urlencoded"
    if body or method in {"POST", "PUT", "PATCH"}:
        lines["Content-Length"] = str(len(body))
    if cookies:
        lines["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    lines.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items())
    return head.encode("latin-1") + b"\r\n" + body


class Connection:
    """One TCP connection, reused for request after request until either side closes it."""

    def __init__(self, port: int, *, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)

    def local_port(self) -> int | None:
        """Our side's port: lets the caller see which server process accepted the connection."""
        if self._writer is None:
            return None
        return self._writer.get_extra_info("sockname")[1]

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def request(self, raw: bytes) -> Response:
        async with asyncio.timeout(self.timeout):
            await self.open()
            assert self._reader is not None and self._writer is not None
            reader = self._reader
            self._writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            headers = []
            for line in header_lines:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
            response = Response(status, headers, b"")
            length = response.header("content-length")
            if length is not None:
                response.body = await reader.readexactly(int(length))
            elif (response.header("transfer-encoding") or "").lower() == "chunked":
                response.body = await _read_chunked(reader)
            elif status not in (204, 304) and not 100 <= status < 200:
                response.body = await reader.read()  # delimited by the server closing
                await self.close()
            if (
                response.header("connection") or ""
            ).lower() == "close" or b"Connection: close" in raw:
                await self.close()
            return response


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


@dataclass
class LoadResult:
    wall_seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    errors: list[tuple[int, str]] = field(default_factory=list)  # (status, start of body)


async def drive(
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int,
    expect_status: int,
    connections: Sequence[Connection] | None = None,
) -> LoadResult:
    """Send every request exactly once over `concurrency` connections, each waiting for its answer.

    Connections are opened before the clock starts (pass already opened ones to choose them);
    each loop takes the next request as soon as its previous one is answered (closed loop).
    """
    pool = list(connections) if connections else [Connection(port) for _ in range(concurrency)]
    await asyncio.gather(*(connection.open() for connection in pool))
    pending = iter(requests)
    result = LoadResult(0.0)

    async def one_loop(connection: Connection) -> None:
        for raw in pending:
            started = time.perf_counter()
            try:
                response = await connection.request(raw)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
                result.latencies.append(time.perf_counter() - started)
                result.errors.append((0, repr(error)))
                await connection.close()
                continue
            result.latencies.append(time.perf_counter() - started)
            if response.status != expect_status:
                result.errors.append((response.status, response.text()[:300]))

    started = time.perf_counter()
    await asyncio.gather(*(one_loop(connection) for connection in pool))
    result.wall_seconds = time.perf_counter() - started
    await asyncio.gather(*(connection.close() for connection in pool))
    return result


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank on the sorted values (the same rule as the peers' harness)."""
    ordered = sorted(values)
    index = round(percent / 100 * (len(ordered) - 1))
    return ordered[min(len(ordered) - 1, index)]
