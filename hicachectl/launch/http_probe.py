"""A plain HTTP/1.0 GET over a socket, for the readiness probes.

Why not urllib: importing it (http.client, email, ssl) costs ~25 ms of CPU right after the
children start, when they need both cores to boot.  The probes only ever GET small JSON or
Prometheus text from loopback (or a host the plan names) over plain http; HTTP/1.0 means the
server sends the body whole (no chunked encoding) and closes the connection.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

MAX_BODY = 8 << 20  # /metrics of a frontend with many workers is well under this


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """(status, body); raises OSError (nothing answers, timeout) or ValueError (not HTTP)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http URL: {url}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {target} HTTP/1.0\r\nHost: {parts.hostname}:{port}\r\n"
        "Accept: application/json, text/plain\r\nUser-Agent: hicachectl\r\n\r\n"
    )
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    with socket.create_connection((parts.hostname, port), timeout=timeout) as sock:
        sock.sendall(request.encode("ascii"))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete answer from {url} within {timeout:g} s")
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
            size += len(data)
            if size > MAX_BODY:
                raise ValueError(f"answer from {url} larger than {MAX_BODY} bytes")
            length = _complete_length(chunks)
            if length is not None and size >= length:
                break  # a server that keeps the connection open despite HTTP/1.0
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP answer from {url}")
    return int(status_line[1]), body


def _complete_length(chunks: list[bytes]) -> int | None:
    """Header bytes + Content-Length, once the headers are in; else None."""
    data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return end + 4 + int(value.strip())
    return None
