"""An OpenAI-compatible chat server on 127.0.0.1 that stands in for an engine: a fixed latency per request and a
reply that depends only on the request (its seed and last message), so any executor gets the same rows.

A passage whose seed is divisible by 5 gets a reply that is not JSON (a reject, never a crash); the others get
one question/answer pair. ``slots`` bounds the requests served at once (an engine's capacity; default: no
bound); ``fail_after`` makes every chat request after that many answer 400 (a server gone wrong mid-run).
``python -m tests.generate.openai_stub`` runs one in a process of its own (:class:`StubProcess`). Used by the
Ray executor tests and by ``benchmarks/bench_ray.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path


class StubServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, latency: float = 0.0, output_tokens: int = 20, slots: int | None = None, fail_after: int | None = None
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency, self.output_tokens, self.fail_after = latency, output_tokens, fail_after
        self.requests = self.structured_requests = 0  # chat requests, those with a JSON schema
        self.waiting: set[int] = set()  # the client ports of the requests being answered now
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(slots) if slots else None
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a replica killed mid-request) is no error of the server's."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

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


_NO_BOUND = contextlib.nullcontext()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, payload: dict, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.endswith("/stats"):  # how many chat requests this server has had
            self._send({"requests": self.server.requests})  # type: ignore[attr-defined]
            return
        self._send({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv: StubServer = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests += 1
            srv.structured_requests += "response_format" in body
            failing = srv.fail_after is not None and srv.requests > srv.fail_after
        if failing:
            self._send({"error": {"message": "the stub was told to fail"}}, status=400)
            return
        port = self.client_address[1]
        with srv.lock:
            srv.waiting.add(port)
        try:
            with srv.slots or _NO_BOUND:
                time.sleep(srv.latency)
        finally:
            with srv.lock:
                srv.waiting.discard(port)
        self._send(
            {
                "choices": [{"message": {"role": "assistant", "content": reply_for(body)}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 50, "completion_tokens": srv.output_tokens},
            }
        )


class StubProcess:
    """A stub server in a process of its own (as an engine on its own machine would be): ``url``, ``stop()``."""

    def __init__(self, latency: float = 0.0, output_tokens: int = 20, slots: int | None = None):
        root = Path(__file__).resolve().parents[2]
        cmd = [
            sys.executable,
            "-m",
            "tests.generate.openai_stub",
            "--latency",
            str(latency),
            "--output-tokens",
            str(output_tokens),
            "--slots",
            str(slots or 0),
        ]
        self.proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()  # the server prints its URL once it listens

    @property
    def requests(self) -> int:
        import httpx

        return httpx.get(f"{self.url}/stats").json()["requests"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description="An OpenAI-compatible stub server on 127.0.0.1; prints its URL.")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--output-tokens", type=int, default=20)
    ap.add_argument("--slots", type=int, default=0, help="requests served at once (0: no bound)")
    a = ap.parse_args()
    srv = StubServer(a.latency, a.output_tokens, a.slots or None)
    print(srv.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
