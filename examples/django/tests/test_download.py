"""Tecken's download API: GET/HEAD of a stored file (served by the app, or 302 to the
storage URL), Try, the code-id redirect, the ignore short-cuts, 404s and syminfo."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.test import Client, override_settings

from conftest import FIXTURES, TOKEN, eliot_syms, make_zip

XUL = ("xul.pdb", "0185139C8F04FFC94C4C44205044422E1")
XUL_URL = f"/{XUL[0]}/{XUL[1]}/xul.sym"
TESTPROJ = ("testproj", "D48F191186D67E69DF025AD71FB91E1F0")


@pytest.fixture()
def uploaded(client: Client, store_dir: Path) -> dict[tuple[str, str], bytes]:
    """The eliot/ fixtures uploaded to the store; testproj into Try only."""
    syms = eliot_syms()
    regular = {f"{f}/{i}/{'xul.sym' if f == 'xul.pdb' else f.replace('.pdb', '') + '.sym'}": d
               for (f, i), d in syms.items() if f != "testproj"}
    for members, form in ((regular, {}), ({f"testproj/{TESTPROJ[1]}/testproj.sym": syms[TESTPROJ]}, {"try": "1"})):
        response = client.post("/upload/", {"s.zip": _file(make_zip(members)), **form}, headers={"Auth-Token": TOKEN})
        assert response.status_code == 201, response.content
    return syms


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("s.zip", data)


def cors(response) -> bool:
    return response["Access-Control-Allow-Origin"] == "*" and response["Access-Control-Allow-Methods"] == "GET"


def test_get_serves_the_file(client: Client, uploaded: dict) -> None:
    got = client.get(XUL_URL)
    assert (got.status_code, got.content, got["Content-Type"]) == (200, uploaded[XUL], "text/plain")
    assert "Content-Encoding" not in got and cors(got)
    # A client that accepts gzip gets the stored form, as S3 would send it.
    gz = client.get(XUL_URL, headers={"Accept-Encoding": "gzip, deflate"})
    assert gz["Content-Encoding"] == "gzip" and gzip.decompress(gz.content) == uploaded[XUL]
    # Debug ids in any case.
    assert client.get(XUL_URL.replace(XUL[1], XUL[1].lower())).content == uploaded[XUL]
    head = client.head(XUL_URL)
    assert (head.status_code, head.content) == (200, b"") and cors(head)


def test_redirect_to_the_storage_url(client: Client, uploaded: dict) -> None:
    with override_settings(TECKEN_DOWNLOAD_URL="https://symbols.example/bucket/"):
        got = client.get(XUL_URL)
        assert got.status_code == 302 and cors(got)
        assert got["Location"] == f"https://symbols.example/bucket/v1/{XUL[0]}/{XUL[1]}/xul.sym"
        assert client.head(XUL_URL).status_code == 200  # Tecken: HEAD answers 200, not 302
        tried = client.get(f"/try/testproj/{TESTPROJ[1]}/testproj.sym")
        assert tried["Location"] == f"https://symbols.example/bucket/try/v1/testproj/{TESTPROJ[1]}/testproj.sym"
        # A miss in redirect mode is still recorded as a missing symbol.
        assert client.get("/missed.pdb/ABCD1/missed.sym?code_file=missed.dll&code_id=77").status_code == 404
        from tecken import service

        assert "missed.pdb,ABCD1,missed.dll,77" in service.store().missing_symbols_csv()


def test_try_symbols_only_when_asked(client: Client, uploaded: dict) -> None:
    plain = f"/testproj/{TESTPROJ[1]}/testproj.sym"
    assert client.get(plain).status_code == 404
    assert client.get("/try" + plain).content == uploaded[TESTPROJ]
    assert client.get(plain + "?try=1").content == uploaded[TESTPROJ]
    assert client.put("/try" + plain).status_code == 405


def test_code_id_redirect(client: Client, uploaded: dict) -> None:
    # xul-pe's INFO CODE_ID: xul.dll 60533C886EFD000; query string kept.
    for method in (client.get, client.head):
        got = method("/xul.dll/60533C886EFD000/xul.sym?x=1")
        assert got.status_code == 302 and got["Location"] == f"{XUL_URL}?x=1", method


def test_not_found_and_ignored(client: Client, uploaded: dict) -> None:
    missing = client.get("/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym")
    assert (missing.status_code, missing.content) == (404, b"Symbol Not Found") and cors(missing)
    assert client.get(f"/{XUL[0]}/{XUL[1]}/xul.xxx").status_code == 404  # extension not served
    ignored = client.get("/cxinjime.pdb/342D9B0A3AE64812A2388C055C9F6C321/file.ptr", headers={"Debug": "true"})
    assert (ignored.status_code, ignored.content, ignored["Debug-Time"]) == (404, b"Symbol Not Found (and ignored)", "0")
    timed = client.get(XUL_URL, headers={"Debug": "true"})
    assert timed.status_code == 200 and float(timed["Debug-Time"]) >= 0
    bad = client.get("/x%25l.pdb/ABC/x%25l.sym")  # "%" is never in a key: current Tecken's 404
    assert bad.status_code == 404 and bad.content == b"Symbol Not Found"


def test_syminfo(client: Client, uploaded: dict) -> None:
    got = client.get("/api/syminfo/xul.dll/60533C886EFD000")
    assert got.status_code == 200
    assert got.json() == {
        "debug_filename": "xul.pdb", "debug_id": XUL[1], "code_file": "xul.dll", "code_id": "60533C886EFD000",
        "generator": got.json()["generator"], "url": f"http://testserver{XUL_URL}",
    }
    assert client.get("/api/syminfo/nothere.pdb/AB").status_code == 404
