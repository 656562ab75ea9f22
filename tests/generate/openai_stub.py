"""An OpenAI-compatible chat server on 127.0.0.1 that stands in for an engine: a fixed latency per request and a
reply that depends only on the request (its seed and last message), so any executor gets the same rows.

A passage whose seed is divisible by 5 gets a reply that is not JSON (a reject, never a crash); the others get
one question/answer pair. Used by the Ray executor tests and by ``benchmarks/bench_ray.py``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time


class StubServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float = 0.0, output_tokens: int = 20):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency, self.output_tokens = latency, output_tokens
        self.requests = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def reply_for(body: dict) -> str:
    """The stub's answer to a chat request: a function of its seed and its last message only."""
    seed = int(body.get("seed") or 0)
    if seed % 5 == 0:
        return "I cannot answer that."
    digest = hashlib.sha256(body["messages"][-1]["content"].encode()).hexdigest()[:8]
    return json.dumps([{"question": f"What does passage {digest} say?", "answer": f"It says {seed}."}])


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv: StubServer = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests += 1
        time.sleep(srv.latency)
        self._send({"choices": [{"message": {"role": "assistant", "content": reply_for(body)},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": srv.output_tokens}})
