"""A real HTTP server on 127.0.0.1 serving a folder, with Range requests (resumable
downloads) and a switch that drops the connection part-way. For tests only."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support; `cut_after` drops the connection part-way."""
    cut_after: int | None = None
    delay: float = 0.0          # seconds between 16 KB blocks

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = type(self).cut_after
        body = body[:cut] if cut is not None else body
        delay = type(self).delay
        if not delay:
            self.wfile.write(body)
            return
        import time

        try:
            for i in range(0, len(body), 16384):     # slowly, so a test can pause mid-way
                self.wfile.write(body[i:i + 16384])
                time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve_folder(root: Path) -> http.server.ThreadingHTTPServer:
    """Start serving `root` on a free port of 127.0.0.1 (stop with shutdown + server_close)."""
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **kw: RangeHandler(*a, directory=str(root), **kw))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
