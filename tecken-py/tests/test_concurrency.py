"""Threads and fork: results under 16 threads equal the single-threaded ones, the calls
really run at the same time (the GIL is released), and a forked child (gunicorn's worker)
symbolicates with what its parent built."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tecken_core
from conftest import distinct_golden_cases, eliot_zip, s3_store

THREADS = 16


CASES = distinct_golden_cases()


def golden_bodies() -> list[bytes]:
    return [json.dumps(case["request"]).encode() for _, case in CASES]


def golden_symbolicator(golden_dir: Path, **settings: object) -> tecken_core.Symbolicator:
    return tecken_core.Symbolicator([golden_dir / name for name, _ in CASES], **settings)  # type: ignore[arg-type]


def test_16_threads_give_single_threaded_results(golden_dir: Path, tmp_path: Path) -> None:
    bodies = golden_bodies()
    single = golden_symbolicator(golden_dir)
    want = [single.symbolicate_v5(b) for b in bodies]
    # A cold symbolicator shared by 16 threads: modules are built while others wait.
    shared = golden_symbolicator(golden_dir, cache_dir=tmp_path / "cache")

    def work(seed: int) -> list[bytes]:
        order = list(range(len(bodies)))
        random.Random(seed).shuffle(order)
        got: list[bytes] = [b""] * len(bodies)
        for _ in range(3):
            for i in order:
                got[i] = shared.symbolicate_v5(bodies[i])
        return got

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    assert all(r == want for r in results)


def small_sym(i: int) -> tuple[str, str, bytes]:
    debug_file, debug_id = f"mod{i}.so", f"{i:033X}"
    sym = f"MODULE Linux x86_64 {debug_id} {debug_file}\nFILE 0 /src/m{i}.c\nFUNC 1000 100 0 func_{i}\n1000 100 {i + 1} 0\n"
    return debug_file, debug_id, sym.encode()


def test_16_calls_overlap_without_the_gil() -> None:
    """Each of 16 threads symbolicates its own module, fetched over HTTP from a server that
    runs in Python threads of this process. The server answers only once all 16 requests
    have arrived (a barrier), so every response proves that 16 symbolicate calls were in
    flight at once and that Python threads ran meanwhile: with the GIL held by one call,
    the barrier would break and the modules would not be found. No timing is measured."""
    syms = {f"/{f}/{i}/{f}.sym": data for f, i, data in (small_sym(n) for n in range(THREADS))}
    barrier = threading.Barrier(THREADS, timeout=60)
    passed = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = syms.get(self.path)
            if data is not None:
                try:
                    barrier.wait()
                    passed.append(self.path)
                except threading.BrokenBarrierError:
                    data = None
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = tecken_core.SymbolStore.http(
            f"http://127.0.0.1:{server.server_address[1]}/", timeout=90.0, retries=0
        )
        sym = tecken_core.Symbolicator(store)

        def work(n: int) -> dict:
            f, i, _ = small_sym(n)
            body = json.dumps({"stacks": [[[0, 0x1010]]], "memoryMap": [[f, i]]})
            return json.loads(sym.symbolicate_v5(body))["results"][0]

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS)))
    finally:
        server.shutdown()
        server.server_close()
    assert len(passed) == THREADS
    for n, r in enumerate(results):
        assert r["stacks"][0][0]["function"] == f"func_{n}"
        assert list(r["found_modules"].values()) == [True]


def fork_and_check(child) -> None:  # type: ignore[no-untyped-def]
    """Runs `child()` in a forked process; it must return True within 60 s."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if child() else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_fork_after_symbolicating(golden_dir: Path, tmp_path: Path) -> None:
    bodies = golden_bodies()
    sym = golden_symbolicator(golden_dir, cache_dir=tmp_path / "cache")
    # The parent answers the first half (modules open, indexes cached), with threads.
    with ThreadPoolExecutor(4) as pool:
        want_first = list(pool.map(sym.symbolicate_v5, bodies[: len(bodies) // 2]))
    want = [golden_symbolicator(golden_dir).symbolicate_v5(b) for b in bodies]
    assert want_first == want[: len(want_first)]
    # The child answers everything: open modules inherited, new ones built.
    fork_and_check(lambda: [sym.symbolicate_v5(b) for b in bodies] == want)


def test_fork_with_s3() -> None:
    store = s3_store()
    store.upload_archive(eliot_zip())  # starts the S3 runtime in the parent
    sym = tecken_core.Symbolicator(store)
    body = lambda i: json.dumps(  # noqa: E731
        {"stacks": [[[0, 0x5380]]], "memoryMap": [[["xul.pdb", "testproj"][i], [
            "0185139C8F04FFC94C4C44205044422E1", "D48F191186D67E69DF025AD71FB91E1F0"][i]]]})
    first = json.loads(sym.symbolicate_v5(body(0)))["results"][0]
    assert list(first["found_modules"].values()) == [True]

    def child() -> bool:
        # A module the parent never fetched: downloaded from S3 by the child.
        out = json.loads(sym.symbolicate_v5(body(1)))["results"][0]
        return out["stacks"][0][0]["function"] == "testproj::main" and store.exists(
            "xul.pdb", "0185139C8F04FFC94C4C44205044422E1", "xul.sym")

    fork_and_check(child)
    # The parent still works after its child used the store.
    assert json.loads(sym.symbolicate_v5(body(1)))["results"][0]["stacks"][0][0]["function"] == "testproj::main"
