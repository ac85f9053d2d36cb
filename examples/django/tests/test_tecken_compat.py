"""Current Tecken's behaviour in the example (mozilla-services/tecken): token labels, upload
by download URL from a local HTTP server on 127.0.0.1, the auth-info route, upload API v2, member names
in ``skipped_keys``, and the ``Debug`` rule of downloads. The rules are the core's; these
tests check that the views use them."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
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


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_upload_v2_sessions_as_the_upload_client_uses_them(client: Client, store_dir: Path) -> None:
    # mozilla-services/upload-symbols crates/upload-symbols/src/v2.rs: the batch request,
    # the actions, PUTs with Content-Range answered 308 + Range, then the object.
    token = {"Auth-Token": TOKEN}
    with override_settings(TECKEN_UPLOAD_API_VERSION=2):
        assert client.post("/upload/auth_info/", headers=token).json()["upload_api_version"] == 2
    sym = b"MODULE Linux x86_64 A7D6F1BB18CD4CB48 xpcshell.dbg\n" + b"".join(
        b"FUNC %x 10 0 f%d\n" % (i * 16, i) for i in range(20_000)
    )
    key = "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"
    files = {"files": [{"key": key, "size": len(sym), "md5_hash": _md5(sym)}, {"key": "bad.sym", "size": 1, "md5_hash": _md5(b"x")}]}
    r = client.post("/upload/v2/", json.dumps(files), content_type="application/json", headers=token)
    assert r.status_code == 200, r.content
    assert r["Vary"] == "Auth-Token"
    v = r.json()
    assert v["upload_protocol"] == "gcs-resumable"
    assert isinstance(v["id"], int) and isinstance(v["created_at"], int)
    assert [f["key"] for f in v["files"]] == [key, "bad.sym"]
    action = v["files"][0]["action"]
    assert action["type"] == "upload" and action["content_encoding"] is None
    assert action["url"].startswith("http://testserver/upload/v2/session/")
    assert v["files"][1]["action"]["type"] == "error"
    assert "bad.sym" in v["files"][1]["action"]["msg"]

    url = action["url"].removeprefix("http://testserver")
    half = len(sym) // 2

    def put(first: int, last: int) -> HttpResponse:
        return client.put(
            url,
            sym[first : last + 1],
            content_type="application/octet-stream",
            headers={"Content-Range": f"bytes {first}-{last}/{len(sym)}"},
        )

    r = put(0, half - 1)
    assert (r.status_code, r["Range"]) == (308, f"bytes=0-{half - 1}")
    assert client.get("/" + key).status_code == 404
    r = put(half, len(sym) - 1)
    assert r.status_code == 200, r.content
    obj = r.json()
    assert obj["name"] == "v1/" + key
    assert obj["size"] == str(len(sym))
    assert obj["md5Hash"] == base64.b64encode(hashlib.md5(sym).digest()).decode()
    got = client.get("/" + key)
    assert got.status_code == 200 and b"".join(got.streaming_content if got.streaming else [got.content]) == sym
    # The last chunk again: the same object; the file again: skipped.
    again = put(half, len(sym) - 1)
    assert (again.status_code, again.json()) == (200, obj)
    r = client.post("/upload/v2/", json.dumps(files), content_type="application/json", headers=token)
    assert r.json()["files"][0]["action"] == {"type": "skip"}

    # Refusals: no token, bad JSON, unknown session, no Content-Range, the wrong bytes.
    assert client.post("/upload/v2/", b"{}", content_type="application/json").status_code == 403
    bad = client.post("/upload/v2/", b'{"files": 3}', content_type="application/json", headers=token)
    assert bad.status_code == 400 and bad.json()["error"].startswith("Invalid JSON body")
    unknown = client.put("/upload/v2/session/" + "0" * 32, b"x", headers={"Content-Range": "bytes 0-0/1"})
    assert unknown.status_code == 404
    assert client.put(url, b"x").status_code == 400
    other = {"files": [{"key": "b.so/ABC/b.so.sym", "size": 3, "md5_hash": _md5(b"abc")}]}
    r = client.post("/upload/v2/", json.dumps(other), content_type="application/json", headers=token)
    wrong = client.put(
        r.json()["files"][0]["action"]["url"].removeprefix("http://testserver"),
        b"abd",
        content_type="application/octet-stream",
        headers={"Content-Range": "bytes 0-2/3"},
    )
    assert wrong.status_code == 400 and "not the declared" in wrong.json()["error"]


def test_debug_header_follows_tecken(client: Client, store_dir: Path) -> None:
    # tecken/base/decorators.py set_request_debug: only 1, true, yes.
    missing = "/nothere.pdb/44E4EC8C2F41492B9369D6B9A059577C2/nothere.sym"
    assert "Debug-Time" not in client.get(missing, headers={"Debug": "0"})
    assert "Debug-Time" not in client.get(missing, headers={"Debug": "false"})
    assert float(client.get(missing, headers={"Debug": "YES"})["Debug-Time"]) >= 0
    ignored = client.get("/a.pdb/ABC/file.ptr")
    assert (ignored.status_code, ignored.content) == (404, b"Symbol Not Found (and ignored)")
    assert "Debug-Time" not in ignored
