"""Tecken's request rules and upload by download URL through the binding (the rules are the
core's: mozilla-services/tecken tecken/tests/test_tokens.py, test_upload.py)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

import tecken_core

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tecken"
SAMPLE = (FIXTURES / "zips" / "sample.zip").read_bytes()


def test_token_labels_and_debug_values() -> None:
    t = "6d1c6ae1a3b34c0e9a1f8c2e1b7d4f00"
    assert tecken_core.auth_token_matches(t, t)
    assert tecken_core.auth_token_matches(t, f"{t}-testtoken")
    assert not tecken_core.auth_token_matches(t, f"{t}x")
    assert not tecken_core.auth_token_matches("", "")
    assert [tecken_core.tecken_debug_requested(v) for v in ["1", "True", "yes", "0", "false", ""]] == [
        True, True, True, False, False, False]


def test_upload_archive_from_url(tmp_path: Path) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            if self.path == "/symbols.zip":
                self.send_response(200)
                self.send_header("Content-Length", str(len(SAMPLE)))
                self.end_headers()
                if body:
                    self.wfile.write(SAMPLE)
            else:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(True)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        store = tecken_core.SymbolStore.local(tmp_path)
        with pytest.raises(tecken_core.InvalidInputError, match="Insecure URL") as e:
            store.upload_archive_from_url(f"{base}/symbols.zip", allowed_hosts=["127.0.0.1"])
        assert e.value.status == 400
        with pytest.raises(tecken_core.InvalidInputError, match="Not an allowed domain"):
            store.upload_archive_from_url("https://elsewhere.example.com/s.zip", allowed_hosts=["127.0.0.1"])
        report = store.upload_archive_from_url(f"{base}/symbols.zip", allowed_hosts=["127.0.0.1"], allow_http=True)
        assert (report["download_url"], report["redirect_urls"], report["archive_name"]) == (
            f"{base}/symbols.zip", [], "symbols.zip")
        assert len(report["uploaded"]) == 2
        with pytest.raises(tecken_core.StorageError) as e:
            store.upload_archive_from_url(f"{base}/down.zip", allowed_hosts=["127.0.0.1"], allow_http=True)
        assert e.value.status == 500 and str(e.value).endswith(f"{base}/down.zip errored (503)")
        too_big = store.upload_archive_from_url
        with pytest.raises(tecken_core.LimitExceededError):
            too_big(f"{base}/symbols.zip", allowed_hosts=["127.0.0.1"], allow_http=True, max_size=1000)
    finally:
        server.shutdown()
