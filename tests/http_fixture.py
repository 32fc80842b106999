"""A tiny HTTP server on 127.0.0.1 for the download tests: no test touches the internet."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """Serves ``files[url_path] = bytes`` at ``url``; counts requests in ``hits``.

    Paths in ``truncate`` send a full Content-Length but only half the body (a
    dropped connection). ``with LocalServer() as srv:`` shuts it down afterwards.
    """

    def __init__(self):
        self.files, self.truncate, self.hits = {}, set(), {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in server.truncate else body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bypass_proxies(monkeypatch) -> None:
    """A proxy configured on the machine must not see requests to 127.0.0.1."""
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


def isolate_cache(monkeypatch, cache) -> None:
    """Downloads go to ``cache``, from the URLs the test patched in: no mirror, no proxy."""
    from helpers import downloads

    monkeypatch.delenv(downloads.MIRROR_ENV_VAR, raising=False)
    bypass_proxies(monkeypatch)
    monkeypatch.setenv(downloads.DATA_ENV_VAR, str(cache))


def leftovers(folder) -> list[str]:
    """Names in ``folder`` (none if it does not exist): a failed download must leave nothing behind."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
