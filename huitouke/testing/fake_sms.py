"""A local stand-in for the SMS providers' send endpoints: an HTTP server answering as Aliyun, Tencent Cloud and
Twilio do, on a free local port, recording what it was sent. Used by the engagement tests and `bench campaign`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorded:
    provider: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)


class FakeSmsServer:
    """Answers each provider's send call with its documented success body; `fail_next` queues HTTP errors."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.fail_next: list[int] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoints: the SDKs reuse their connections
            # Headers and body leave in one packet: written apart, Nagle and the client's delayed ACK hold
            # every keep-alive response for 40 ms.
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                """GET /count: how many sends it took (for a caller in another process, e.g. the bench)."""
                data = json.dumps({"count": len(server.requests)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlparse(self.path)
                provider = ("twilio" if url.path.endswith("/Messages.json")
                            else "tencent" if self.headers.get("X-TC-Action") else "aliyun")
                with server._lock:
                    server.requests.append(Recorded(provider, url.path, dict(self.headers), body, parse_qs(url.query)))
                    status = server.fail_next.pop(0) if server.fail_next else 200
                if status != 200:
                    payload = {"Code": "ServiceUnavailable", "Message": "try later", "code": 20500,
                               "message": "try later", "status": status}
                elif provider == "twilio":
                    status, payload = 201, {"sid": f"SM{len(server.requests):032d}", "status": "queued"}
                elif provider == "tencent":
                    payload = {"Response": {"RequestId": "r1", "SendStatusSet": [
                        {"SerialNo": f"serial-{len(server.requests)}", "Code": "Ok", "Message": "send success",
                         "PhoneNumber": "+8613800000000", "Fee": 1, "SessionContext": ""}]}}
                else:
                    payload = {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(server.requests)}", "RequestId": "r1"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeSmsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
