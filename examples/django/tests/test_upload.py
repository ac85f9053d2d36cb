"""Tecken's POST /upload/: the token check, the form, and every upload error of
fixtures/tecken/api-samples/tecken-upload-expected.json that this server can meet, with
Tecken's statuses and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from conftest import FIXTURES, TOKEN

ZIPS = FIXTURES / "zips"
EXPECTED = json.loads((FIXTURES / "api-samples" / "tecken-upload-expected.json").read_text())["cases"]


def expected_error(request_prefix: str) -> tuple[int, dict]:
    case = next(c for c in EXPECTED if c["request"].startswith(request_prefix))
    return case["status"], case["body"]


def upload(client: Client, field: str, data: bytes, token: str | None = TOKEN, **form: str):
    headers = {"Auth-Token": token} if token is not None else {}
    return client.post("/upload/", {field: SimpleUploadedFile("name-is-the-field", data), **form}, headers=headers)


def test_method_and_token(client: Client, store_dir: Path) -> None:
    sample = (ZIPS / "sample.zip").read_bytes()
    got = client.get("/upload/")
    assert (got.status_code, got.json()) == expected_error("GET /upload/")
    got = upload(client, "file.zip", sample, token=None)
    assert (got.status_code, got.json()) == expected_error("POST /upload/ without Auth-Token")
    got = upload(client, "file.zip", sample, token="wrong")
    assert (got.status_code, got.json()) == expected_error("POST /upload/ with unknown token")
    with override_settings(TECKEN_UPLOAD_TOKEN=None):
        # No token configured: nothing matches, not even an empty one.
        assert upload(client, "file.zip", sample).status_code == 403
        assert upload(client, "file.zip", sample, token="").status_code == 403
    assert not store_dir.exists() or not any(store_dir.rglob("*.sym"))


def test_form_without_a_file(client: Client, store_dir: Path) -> None:
    got = client.post("/upload/", {}, headers={"Auth-Token": TOKEN})
    assert (got.status_code, got.json()) == expected_error("POST /upload/ authorized, no files")
    raw = client.generic("POST", "/upload/", b"PK\x03\x04", content_type="application/zip", headers={"Auth-Token": TOKEN})
    assert (raw.status_code, raw.json()) == expected_error("POST /upload/ authorized, no files")
    # Upload by URL with no allowed host configured: Tecken's refusal of the host.
    by_url = client.post("/upload/", {"url": "https://example.com/symbols.zip"}, headers={"Auth-Token": TOKEN})
    assert (by_url.status_code, by_url.json()) == (400, {"error": "Not an allowed domain ('example.com') to download from."})


@pytest.mark.parametrize(
    ("field", "zip_name", "case"),
    [
        ("myfile.zip", None, "POST /upload/ field 'myfile.zip' = empty bytes"),
        ("myfile.rar", "sample.zip", "POST /upload/ field 'myfile.rar'"),
        ("file.zip", "invalid.zip", "POST /upload/ field 'file.zip' = zips/invalid.zip"),
        ("file.zip", "notazipdespiteitsname.zip", "POST /upload/ field 'file.zip' = zips/notazipdespiteitsname.zip"),
        ("file.zip", "invalid-characters.zip", "POST /upload/ field 'file.zip' = zips/invalid-characters.zip"),
        ("file.zip", "duplicated-different-size.zip", "POST /upload/ field 'file.zip' = zips/duplicated-different-size.zip"),
    ],
)
def test_upload_errors(client: Client, store_dir: Path, field: str, zip_name: str | None, case: str) -> None:
    data = (ZIPS / zip_name).read_bytes() if zip_name else b""
    got = upload(client, field, data)
    assert (got.status_code, got.json()) == expected_error(case)


def test_upload_sample_then_again_then_try(client: Client, store_dir: Path) -> None:
    sample = (ZIPS / "sample.zip").read_bytes()
    got = upload(client, "file.zip", sample)
    assert got.status_code == 201
    first = got.json()["upload"]
    assert (first["filename"], first["size"], first["try_symbols"], first["download_url"]) == (
        "file.zip", 70398, False, None)
    assert first["id"] == "984270ef458d9d1e27e8d844ad52a9"  # Tecken's content hash of sample.zip
    assert sorted(first["uploaded_keys"]) == [
        "v1/flag/DEADBEEF/flag.jpeg", "v1/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"]
    assert (first["skipped_keys"], first["ignored_keys"]) == ([], ["build-symbols.txt"])
    assert (store_dir / "v1" / "xpcshell.dbg" / "A7D6F1BB18CD4CB48" / "xpcshell.sym").is_file()
    # The same archive again: everything already stored is skipped, listed by member name
    # as Tecken does.
    again = upload(client, "file.zip", sample).json()["upload"]
    assert again["uploaded_keys"] == [] and sorted(again["skipped_keys"]) == [
        "flag/deadbeef/flag.jpeg", "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"]
    # A Try upload lands in try/v1/.
    dup = upload(client, "file.zip", (ZIPS / "duplicated-same-size.zip").read_bytes(), **{"try": "1"})
    assert dup.status_code == 201
    body = dup.json()["upload"]
    assert body["try_symbols"] and [k.split("/")[:2] for k in body["uploaded_keys"]] == [["try", "v1"]]


def test_a_module_missing_before_its_upload_is_found_right_after(client: Client, store_dir: Path) -> None:
    """The negative cache (300 s) must not hide a module uploaded after a request missed it."""
    from conftest import eliot_syms, make_zip

    (debug_file, debug_id), data = next((k, v) for k, v in eliot_syms().items() if k[0] == "testproj")
    body = json.dumps({"jobs": [{"memoryMap": [[debug_file, debug_id]], "stacks": [[[0, 0]]]}]})

    def found() -> bool:
        got = client.post("/symbolicate/v5", body, content_type="application/json")
        assert got.status_code == 200, got.content
        return got.json()["results"][0]["found_modules"][f"{debug_file}/{debug_id}"]

    assert found() is False
    got = upload(client, "s.zip", make_zip({f"{debug_file}/{debug_id}/{debug_file}.sym": data}))
    assert got.status_code == 201, got.content
    assert found() is True
