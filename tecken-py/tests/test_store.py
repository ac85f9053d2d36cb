"""SymbolStore: uploads, downloads, syminfo and missing symbols on a local directory and on
the same real S3 server as the Rust tests (skipped when TECKEN_TEST_S3_ENDPOINT is unset)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tecken_core
from conftest import FIXTURES, eliot_syms, eliot_zip, make_zip, s3_store, sym_file_name

XUL = ("xul.pdb", "0185139C8F04FFC94C4C44205044422E1")
TESTPROJ = ("testproj", "D48F191186D67E69DF025AD71FB91E1F0")


def local_store(tmp_path: Path) -> tecken_core.SymbolStore:
    return tecken_core.SymbolStore.local(tmp_path / "store")


STORES: dict[str, Callable[[Path], tecken_core.SymbolStore]] = {
    "local": local_store,
    "s3": lambda _: s3_store(prefix="symbols"),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tecken_core.SymbolStore:
    return STORES[request.param](tmp_path)


def test_upload_get_exists_syminfo(store: tecken_core.SymbolStore, tmp_path: Path) -> None:
    syms = eliot_syms()
    archive = tmp_path / "symbols.zip"
    archive.write_bytes(eliot_zip())
    result = store.upload_archive(archive)
    assert sorted(f["key"] for f in result["uploaded"]) == sorted(
        f"v1/{f}/{i}/{sym_file_name(f)}" for f, i in syms
    )
    assert result["skipped"] == [] and not result["try_symbols"]
    # Same archive again, from bytes this time: everything is already stored.
    again = store.upload_archive(eliot_zip(), archive_name="symbols.zip")
    assert again["uploaded"] == [] and len(again["skipped"]) == len(syms)

    for (f, i), data in syms.items():
        assert store.get(f, i, sym_file_name(f)) == data
        assert store.get(f, i.lower(), sym_file_name(f)) == data
        assert store.exists(f, i, sym_file_name(f))
    assert store.get("nothere.pdb", "AB", "nothere.sym") is None
    assert not store.exists("nothere.pdb", "AB", "nothere.sym")

    info = store.syminfo(*XUL)
    assert info is not None
    assert (info["debug_filename"], info["code_file"], info["code_id"], info["try"]) == (
        "xul.pdb", "xul.dll", "60533C886EFD000", False)
    by_code = store.syminfo("xul.dll", "60533C886EFD000")
    assert by_code is not None and by_code["debug_id"] == XUL[1]
    assert store.syminfo("nothere.pdb", "AB") is None


def test_try_uploads_are_separate(store: tecken_core.SymbolStore) -> None:
    data = (FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym").read_bytes()
    archive = make_zip({f"testproj/{TESTPROJ[1]}/testproj.sym": data})
    assert store.upload_archive(archive, try_=True)["try_symbols"]
    assert store.get(*TESTPROJ, "testproj.sym") is None
    assert store.get(*TESTPROJ, "testproj.sym", try_=True) == data
    assert store.exists(*TESTPROJ, "testproj.sym", try_=True)


def test_symbolicate_from_store_and_missing_symbols(store: tecken_core.SymbolStore) -> None:
    store.upload_archive(eliot_zip())
    sym = tecken_core.Symbolicator(store)
    body = json.dumps(
        {"stacks": [[[0, 0x5380], [1, 1]]], "memoryMap": [list(XUL), ["nothere.pdb", "ABCD"]]}
    )
    out = json.loads(sym.symbolicate_v5(body))["results"][0]
    assert out["stacks"][0][0]["module"] == "xul.dll" and out["stacks"][0][0]["function"] == "somefunc"
    assert out["found_modules"] == {f"{XUL[0]}/{XUL[1]}": True, "nothere.pdb/ABCD": False}
    csv = store.missing_symbols_csv()
    assert csv.splitlines() == ["debug_file,debug_id,code_file,code_id", "nothere.pdb,ABCD,,"]
    assert store.missing_symbols_csv(since=time.time() + 3600).splitlines() == [
        "debug_file,debug_id,code_file,code_id"]
    assert "count" in store.missing_symbols_csv(with_counts=True).splitlines()[0]


def test_upload_errors(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    with pytest.raises(tecken_core.InvalidInputError) as e:
        store.upload_archive(b"not a zip")
    assert e.value.kind == "invalid_input"
    with pytest.raises(tecken_core.InvalidInputError):
        store.upload_archive(eliot_zip(), archive_name="symbols.rar")
    with pytest.raises(tecken_core.NotFoundError):
        store.upload_archive(tmp_path / "missing.zip")
    with pytest.raises(tecken_core.InvalidInputError):
        store.get("../etc", "AB", "passwd")
    for zip_name in ("invalid.zip", "notazipdespiteitsname.zip"):
        with pytest.raises(tecken_core.TeckenError):
            store.upload_archive(FIXTURES / "zips" / zip_name)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(tecken_core.IoError) as io:
        tecken_core.SymbolStore.local(tmp_path / "file")
    assert isinstance(io.value, OSError)


def test_open_chain_and_repr(tmp_path: Path) -> None:
    a = tecken_core.SymbolStore.open(str(tmp_path / "a"))
    b = tecken_core.SymbolStore.local(tmp_path / "b")
    b.upload_archive(eliot_zip())
    chain = tecken_core.SymbolStore.chain([a, b])
    assert chain.exists(*XUL, "xul.sym")
    assert "chain[" in repr(chain)
    # Specs: nothing is contacted until first use.
    assert "s3://bucket/prefix" in repr(tecken_core.SymbolStore.open("s3://bucket/prefix"))
    assert "http:https://symbols.example.invalid/" in repr(tecken_core.SymbolStore.open("https://symbols.example.invalid/"))
    assert "local:" in repr(a)
    with pytest.raises(tecken_core.InvalidInputError):
        tecken_core.SymbolStore.http("https://x.invalid/", layout="nope")  # type: ignore[arg-type]


def test_download_applies_tecken_rules(store: tecken_core.SymbolStore) -> None:
    import gzip

    syms = eliot_syms()
    store.upload_archive(eliot_zip())
    xul = syms[XUL]
    found = store.download(*XUL, "xul.sym")
    assert (found["status"], found["key"], found["try"], found["body"]) == (
        "found", f"v1/{XUL[0]}/{XUL[1]}/xul.sym", False, xul)
    assert found["content_encoding"] is None and found["size"] is not None
    stored = store.download(XUL[0], XUL[1].lower(), "xul.sym", body="stored")
    assert stored["content_encoding"] == "gzip" and stored["body"] is not None
    assert gzip.decompress(stored["body"]) == xul
    head = store.download(*XUL, "xul.sym", body="none")
    assert (head["status"], head["body"], head["key"]) == ("found", None, found["key"])
    # The code file and id of a Windows module redirect to its debug file and id.
    redirect = store.download("xul.dll", "60533C886EFD000", "xul.sym")
    assert (redirect["status"], redirect["key"], redirect["body"]) == ("redirect", f"{XUL[0]}/{XUL[1]}/xul.sym", None)
    # Tecken's short-cuts: file.ptr, the all-zero id, extensions outside the allow-list.
    for args in [(XUL[0], XUL[1], "file.ptr"), (XUL[0], "0" * 33, "xul.sym"), (*XUL, "xul.xxx")]:
        assert store.download(*args)["status"] == "ignored", args
    assert store.download("nothere.pdb", "AB", "nothere.sym")["status"] == "not_found"
    # A name Tecken refuses is simply not found (current Tecken answers 404).
    assert store.download("x%l.pdb", "AB", "x%l.sym")["status"] == "not_found"
    # Only the modes that answer with bytes have names (the core's streams do not).
    for mode in ["gzip", "Decoded", "decoded_stream", "stored_stream"]:
        with pytest.raises(tecken_core.InvalidInputError):
            store.download(*XUL, "xul.sym", body=mode)  # type: ignore[arg-type]
    # A GET that misses is recorded (with the code file and id it named); a HEAD is not.
    store.download("nothead.pdb", "CD", "nothead.sym", body="none")
    store.download("missed.pdb", "AB", "missed.sym", code_file="missed.dll", code_id="123")
    csv = store.missing_symbols_csv()
    assert "missed.pdb,AB,missed.dll,123" in csv and "nothead" not in csv


def test_try_download(store: tecken_core.SymbolStore) -> None:
    data = (FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym").read_bytes()
    store.upload_archive(make_zip({f"testproj/{TESTPROJ[1]}/testproj.sym": data}), try_=True)
    assert store.download(*TESTPROJ, "testproj.sym")["status"] == "not_found"
    got = store.download(*TESTPROJ, "testproj.sym", try_=True)
    assert (got["status"], got["try"], got["key"], got["body"]) == (
        "found", True, f"try/v1/testproj/{TESTPROJ[1]}/testproj.sym", data)


def test_forget_uploaded_finds_a_module_missing_before_its_upload(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    sym = tecken_core.Symbolicator([store])
    body = json.dumps({"jobs": [{"memoryMap": [list(TESTPROJ)], "stacks": [[[0, 0]]]}]}).encode()

    def found() -> object:
        return json.loads(sym.symbolicate_v5(body))["results"][0]["found_modules"]["/".join(TESTPROJ)]

    assert found() is False
    result = store.upload_archive(eliot_zip())
    assert found() is False  # the negative cache still answers
    sym.forget_uploaded(result)
    assert found() is True
