"""Current Tecken's behaviour in the example (mozilla-services/tecken): token labels, upload
by download URL from a local HTTP server on 127.0.0.1, the auth-info route, member names
in ``skipped_keys``, and the ``Debug`` rule of downloads. The rules are the core's; these
tests check that the views use them."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from conftest import FIXTURES, TOKEN

SAMPLE = (FIXTURES / "zips" / "sample.zip").read_bytes()


@pytest.fixture()
def origin() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``/symbols.zip`` and a redirect to it."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            if self.path == "/redirect.zip":
                self.send_response(302)
                self.send_header("Location", "/symbols.zip")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/symbols.zip":
                self.send_response(200)
                self.send_header("Content-Length", str(len(SAMPLE)))
                self.end_headers()
                if body:
                    self.wfile.write(SAMPLE)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(True)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_token_labels(client: Client, store_dir: Path) -> None:
    # tecken/tests/test_tokens.py test_client_homepage_with_valid_token: f"{token_key}-testtoken".
    got = client.post("/upload/", {"file.zip": SimpleUploadedFile("f", SAMPLE)}, headers={"Auth-Token": f"{TOKEN}-ci"})
    assert got.status_code == 201, got.content
    assert got["Vary"] == "Auth-Token"
    again = client.post("/upload/", {"file.zip": SimpleUploadedFile("f", SAMPLE)}, headers={"Auth-Token": TOKEN})
    # tecken/upload/views.py upload_archive: skipped_keys are archive member names.
    assert again.json()["upload"]["skipped_keys"] == [
        "flag/deadbeef/flag.jpeg",
        "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym",
    ]
    bad = client.post("/upload/", {"file.zip": SimpleUploadedFile("f", SAMPLE)}, headers={"Auth-Token": f"{TOKEN}x"})
    assert (bad.status_code, bad.json()) == (403, {"error": "API Token not matched"})


def test_upload_by_url(client: Client, store_dir: Path, origin: str) -> None:
    # tecken/tests/test_upload.py test_upload_archive_by_url.
    headers = {"Auth-Token": TOKEN}
    insecure = client.post("/upload/", {"url": f"{origin}/symbols.zip"}, headers=headers)
    assert (insecure.status_code, insecure.json()) == (400, {"error": "Insecure URL"})
    with override_settings(TECKEN_UPLOAD_URL_HOSTS=["allowed.example.com"]):
        other = client.post("/upload/", {"url": "https://notallowed.example.com/symbols.zip"}, headers=headers)
        assert (other.status_code, other.json()) == (
            400,
            {"error": "Not an allowed domain ('notallowed.example.com') to download from."},
        )
    with override_settings(TECKEN_UPLOAD_URL_HOSTS=["127.0.0.1"], TECKEN_UPLOAD_URL_HTTP=True):
        got = client.post("/upload/", {"url": f"{origin}/redirect.zip"}, headers=headers)
        assert got.status_code == 201, got.content
        u = got.json()["upload"]
        assert (u["download_url"], u["redirect_urls"], u["filename"]) == (
            f"{origin}/redirect.zip",
            [f"{origin}/symbols.zip"],
            "redirect.zip",
        )
        assert (store_dir / "v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym").is_file()
        missing = client.post("/upload/", {"url": f"{origin}/missing.zip"}, headers=headers)
        assert (missing.status_code, missing.json()) == (
            400,
            {"error": f"{origin}/missing.zip can't be found (404)"},
        )


def test_auth_info(client: Client, store_dir: Path) -> None:
    path = "/api/_auth/"
    anonymous = client.get(path)
    assert anonymous.status_code == 200 and "sign_in_url" in anonymous.json()
    known = client.get(path, headers={"Auth-Token": f"{TOKEN}-testtoken"})
    assert known.status_code == 200 and "user" in known.json()
    assert known["Vary"] == "Auth-Token"
    junk = client.get(path, headers={"Auth-Token": "junk"})
    assert (junk.status_code, junk.json()) == (403, {"error": "API Token not matched"})


def test_upload_auth_info_is_the_upload_clients_preflight(client: Client, store_dir: Path) -> None:
    # What mozilla-services/upload-symbols POSTs before uploading, and its AuthInfo fields.
    path = "/upload/auth_info/"
    known = client.post(path, headers={"Auth-Token": f"{TOKEN}-ci"})
    assert known.status_code == 200
    assert known.json() == {
        "email": "",
        "try_symbols": False,
        "token_expires_at": 253_402_300_799,
        "upload_api_version": 1,
        "opentelemetry": None,
    }
    assert known["Vary"] == "Auth-Token"
    missing = client.post(path)
    assert (missing.status_code, missing.json()) == (
        403,
        {"error": "This requires an Auth-Token to authenticate the request"},
    )
    junk = client.post(path, headers={"Auth-Token": "junk"})
    assert (junk.status_code, junk.json()) == (403, {"error": "API Token not matched"})
    assert client.put(path, headers={"Auth-Token": TOKEN}).status_code == 405


def test_debug_header_follows_tecken(client: Client, store_dir: Path) -> None:
    # tecken/base/decorators.py set_request_debug: only 1, true, yes.
    missing = "/nothere.pdb/44E4EC8C2F41492B9369D6B9A059577C2/nothere.sym"
    assert "Debug-Time" not in client.get(missing, headers={"Debug": "0"})
    assert "Debug-Time" not in client.get(missing, headers={"Debug": "false"})
    assert float(client.get(missing, headers={"Debug": "YES"})["Debug-Time"]) >= 0
    ignored = client.get("/a.pdb/ABC/file.ptr")
    assert (ignored.status_code, ignored.content) == (404, b"Symbol Not Found (and ignored)")
    assert "Debug-Time" not in ignored
