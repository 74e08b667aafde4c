"""HTTP plumbing: a ThreadingHTTPServer speaking HTTP/1.1 keep-alive (every
response has Content-Length), tracking open connections so a simulated
crash can drop them all at once. The `Date` header is the sandbox clock's."""
import socket
import sys
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "close-sandbox"
    sys_version = ""
    timeout = 120            # idle keep-alive connections end eventually
    wbufsize = -1            # buffer the response: headers and body leave in one send

    def setup(self):
        super().setup()
        # Small responses on keep-alive connections must not wait for Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        resp = self.server.app.handle(self.command, self.path, self.headers, body)
        if resp.drop:
            self.close_connection = True
            self._hard_close()
            return
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body:
            self.wfile.write(resp.body)
        self.wfile.flush()
        if resp.die:
            self.close_connection = True
            self.server.crash()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def date_time_string(self, timestamp=None):
        """The `Date` header send_response() adds (once per response): Close's now, not the
        host's, so a client that takes "now" from the server sees the sandbox clock, its offset
        or its frozen time. IMF-fixdate at 1-second resolution, as RFC 7231 section 7.1.1.1
        requires and real servers send ("Sun, 06 Nov 1994 08:49:37 GMT")."""
        if timestamp is None:
            timestamp = self.server.clock.timestamp()
        return formatdate(timestamp, usegmt=True)

    def _hard_close(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        # Request logging is done by the app (never the Authorization header).
        pass


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app, on_crash=None, clock=None):
        self.app = app
        # The sandbox clock (clock.py) dates every response; the app's sandbox owns it.
        self.clock = clock if clock is not None else app.sb.clock
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._on_crash = on_crash
        self.crashed = False
        super().__init__(addr, Handler)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # Resets and broken pipes are expected (crash simulation, clients
        # giving up); anything else is reported in one line, without request data.
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            sys.stderr.write("close-sandbox: %s: %s\n" % (type(exc).__name__, exc))

    def drop_connections(self):
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def crash(self):
        """Simulated crash: stop accepting, close the listener, drop every
        open connection (in-flight requests get no answer)."""
        if self.crashed:
            return
        self.crashed = True
        if self._on_crash:
            self._on_crash()
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()
        self.drop_connections()
        threading.Thread(target=self.shutdown, daemon=True).start()
