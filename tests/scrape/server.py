"""A loopback HTTP server for the scrape tests: serves real clips, with faults injected by path.

`/<mode>/<name>.<ext>` serves the clip registered as `name`, behaving by `mode`:

- `ok`        the file, with HTTP Range support (what a resumed download asks for)
- `429-<k>`   HTTP 429 (Retry-After: 0) for the first k requests of that path, then the file
- `404`       not found
- `500-<k>`   HTTP 500 for the first k requests, then the file
- `cut`       a request without Range gets the headers of the whole file, half of it, then a closed
              connection; a Range request (the resume) is served properly
- `truncated` half of the file, announced as the whole response (a broken file, served "fine")
- `slow`      the file in 4 KiB pieces with a pause between them (for kill-and-resume tests)

`/feed?q=<query>` returns an RSS feed (yt-dlp's generic extractor reads it as a playlist) of the
clips registered for that query, with itunes:duration, standing in for a search results page.
Every request is recorded; after `max_requests` the server answers 503 so that a runaway retry
loop cannot spin forever.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from xml.sax.saxutils import escape


@dataclass
class FaultServer:
    clips: dict[str, bytes]
    feeds: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)  # query -> (guid, path, duration)
    max_requests: int = 400
    slow_pause: float = 0.05
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cookies: list[str | None] = field(default_factory=list)  # the Cookie header of each request

    def start(self) -> FaultServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: pytest shows failures, not access logs
                pass

            def do_GET(self):  # noqa: N802 - the name http.server dispatches to
                server._handle(self)

        self._counts: Counter = Counter()
        self._mutex = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, mode: str, name: str, ext: str = "mp4") -> str:
        return f"{self.base}/{mode}/{urllib.parse.quote(name, safe='')}.{ext}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def hits(self, fragment: str) -> int:
        """How many requests named a path containing `fragment`."""
        with self._mutex:
            return sum(fragment in path for path, _ in self.requests)

    # ------------------------------------------------------------------ handling

    def _handle(self, handler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        with self._mutex:
            self.requests.append((parts.path, handler.headers.get("Range")))
            self.cookies.append(handler.headers.get("Cookie"))
            self._counts[parts.path] += 1
            count, total = self._counts[parts.path], len(self.requests)
        if total > self.max_requests:
            return self._status(handler, 503)
        if parts.path == "/feed":
            return self._feed(handler, urllib.parse.parse_qs(parts.query).get("q", [""])[0])
        segments = parts.path.strip("/").split("/")
        if len(segments) != 2:
            return self._status(handler, 404)
        mode, name = segments[0], urllib.parse.unquote(segments[1]).rsplit(".", 1)[0]
        data = self.clips.get(name)
        if data is None or mode == "404":
            return self._status(handler, 404)
        if mode.startswith(("429-", "500-")):
            code, times = mode.split("-")
            if count <= int(times):
                return self._status(handler, int(code), {"Retry-After": "0"})
            return self._file(handler, data)
        if mode == "cut" and handler.headers.get("Range") is None:
            return self._file(handler, data, stop_at=len(data) // 2)
        if mode == "truncated":
            return self._file(handler, data[: len(data) // 2])
        return self._file(handler, data, slow=mode == "slow")

    def _status(self, handler, code: int, headers: dict | None = None) -> None:
        handler.send_response(code)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _file(self, handler, data: bytes, stop_at: int | None = None, slow: bool = False) -> None:
        start = 0
        ranged = handler.headers.get("Range")
        if ranged and ranged.startswith("bytes="):
            start = int(ranged[6:].split("-")[0] or 0)
            if start >= len(data):
                return self._status(handler, 416)
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Length", str(len(data) - start))
        if stop_at is not None:
            handler.send_header("Connection", "close")
        handler.end_headers()
        body = data[start:stop_at] if stop_at is not None else data[start:]
        try:
            if slow:
                for offset in range(0, len(body), 4096):
                    handler.wfile.write(body[offset : offset + 4096])
                    handler.wfile.flush()
                    time.sleep(self.slow_pause)
            else:
                handler.wfile.write(body)
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if stop_at is not None:
            handler.close_connection = True
            try:
                handler.connection.shutdown(2)
            except OSError:
                pass

    def _feed(self, handler, query: str) -> None:
        items = "".join(
            f"<item><title>{escape(guid)}</title><guid>{escape(guid)}</guid>"
            f'<enclosure url="{escape(self.base + path)}" type="video/mp4"/>'
            f"<itunes:duration>{duration:g}</itunes:duration></item>"
            for guid, path, duration in self.feeds.get(query, [])
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
            f"<channel><title>{escape(query)}</title>{items}</channel></rss>"
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
