"""The API surface: indexes, headers, typed symbolication, the exception tree, bad input
from Python, context managers, version."""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tecken_core
from conftest import FIXTURES, ROOT, make_zip, put_sym

TESTPROJ = FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym"
INLINES = FIXTURES / "eliot" / "testproj-inlines.0905AE80CEE75A33E3CAB61C274274DE0.sym"
XUL = FIXTURES / "eliot" / "xul-pe.0185139C8F04FFC94C4C44205044422E1.sym"
TESTPROJ_ID = "D48F191186D67E69DF025AD71FB91E1F0"
BODY = json.dumps(
    {"stacks": [[[0, 0x5380], [0, 0x53C3], [-1, 5]]], "memoryMap": [["testproj", TESTPROJ_ID]]}
).encode()


@pytest.fixture()
def sym(tmp_path: Path) -> tecken_core.Symbolicator:
    put_sym(tmp_path, "testproj", TESTPROJ_ID, TESTPROJ.read_bytes())
    return tecken_core.Symbolicator(tmp_path)


# --- version, import ------------------------------------------------------------------


def test_version_is_the_crate_version() -> None:
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    assert tecken_core.__version__ == workspace["workspace"]["package"]["version"]
    assert importlib.metadata.version("tecken-core") == tecken_core.__version__


def test_import_starts_no_thread() -> None:
    # gunicorn imports the app, then forks: nothing may be running yet. Creating objects
    # (even an S3 store) starts nothing either: the S3 runtime starts on first use.
    code = (
        "import os, tecken_core;"
        "n1 = len(os.listdir('/proc/self/task'));"
        "tecken_core.Symbolicator('.');"
        "tecken_core.SymbolStore.s3('bucket', endpoint_url='http://127.0.0.1:9');"
        "print(n1, len(os.listdir('/proc/self/task')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]


# --- index and header -------------------------------------------------------------------


def test_parse_sym_header() -> None:
    h = tecken_core.parse_sym_header(XUL.read_bytes())
    assert (h["debug_file"], h["debug_id"], h["os"]) == ("xul.pdb", "0185139C8F04FFC94C4C44205044422E1", "windows")
    assert h["code_id"] == {"id": "60533C886EFD000", "file": "xul.dll"}
    # Any bytes-like input.
    assert tecken_core.parse_sym_header(bytearray(XUL.read_bytes())) == h
    assert tecken_core.parse_sym_header(memoryview(XUL.read_bytes())) == h


def test_build_open_and_lookup(tmp_path: Path) -> None:
    data = INLINES.read_bytes()
    in_memory = tecken_core.build_index(data)
    assert not in_memory.is_mapped
    out = tmp_path / "testproj.tidx"
    with tecken_core.build_index(data, out) as built:
        assert built.is_mapped and out.is_file()
    assert built.closed
    with tecken_core.Index.open(out) as ix:
        assert ix.header["debug_id"] == "0905AE80CEE75A33E3CAB61C274274DE0"
        assert ix.meta["report"]["funcs"] > 0
        ix.verify()
        frames = [ix.lookup(a) for a in range(0, 0x10000, 7)]
        assert frames == ix.lookup_many(list(range(0, 0x10000, 7)))
        assert frames == [in_memory.lookup(a) for a in range(0, 0x10000, 7)]
        hits = [f for f in frames if f is not None]
        assert hits and any(f.inlines for f in hits)
        f = next(f for f in hits if f.inlines)
        assert f.kind in ("func", "public") and f.function and isinstance(f.inlines[0], tecken_core.InlineFrame)
        assert f.function_address + f.function_offset in range(0, 0x10000)
        assert "Frame(" in repr(f)
    with pytest.raises(tecken_core.InvalidInputError) as e:
        ix.lookup(0)
    assert e.value.kind == "invalid_input"


def test_index_errors(tmp_path: Path) -> None:
    with pytest.raises(tecken_core.NotFoundError) as nf:
        tecken_core.Index.open(tmp_path / "missing.tidx")
    assert nf.value.kind == "not_found" and isinstance(nf.value, LookupError)
    bad = tmp_path / "bad.tidx"
    bad.write_bytes(b"NOTANIDX" + b"\0" * 100)
    with pytest.raises(tecken_core.CorruptIndexError) as ci:
        tecken_core.Index.open(bad)
    assert ci.value.kind == "corrupt_index" and isinstance(ci.value, ValueError)
    for version, cls in ((0, tecken_core.IndexTooOldError), (999, tecken_core.IndexTooNewError)):
        bad.write_bytes(b"TECKNIDX" + version.to_bytes(4, "little") + b"\0" * 100)
        with pytest.raises(cls) as e:
            tecken_core.Index.open(bad)
        assert isinstance(e.value, tecken_core.CorruptIndexError)
    with pytest.raises(tecken_core.MalformedSymError) as ms:
        tecken_core.build_index(b"\x00\x01 not a sym file")
    assert ms.value.kind == "malformed_sym"
    with pytest.raises(tecken_core.TeckenError):
        tecken_core.parse_sym_header(b"")


# --- binaries ------------------------------------------------------------------------------


def test_binary_id_of_an_elf_matches_its_sym_file() -> None:
    elf = (ROOT / "fixtures" / "generated" / "cdemo.elf").read_bytes()
    header = tecken_core.parse_sym_header((ROOT / "fixtures" / "generated" / "cdemo.sym").read_bytes())
    bid = tecken_core.binary_id(elf, "cdemo")
    assert (bid["os"], bid["arch"], bid["debug_id"], bid["debug_file"]) == (
        header["os"],
        header["arch"],
        header["debug_id"],
        header["debug_file"],
    )
    assert header["code_id"] is not None and bid["code_id"] == header["code_id"]["id"]
    assert bid["code_file"] is None
    assert bid["key"] == f"cdemo/{header['debug_id']}/cdemo.sym"
    # Any bytes-like input; a path as the name is cut to its basename.
    assert tecken_core.binary_id(memoryview(elf), Path("/usr/bin/cdemo")) == bid


def test_binary_id_of_a_pe_and_a_universal_mach_o() -> None:
    binaries = ROOT / "fixtures" / "binaries"
    bid = tecken_core.binary_id((binaries / "tiny64.dll").read_bytes(), "tiny64.dll")
    assert bid == {
        "os": "windows",
        "arch": "x86_64",
        "debug_id": "B1EF22ADB043FF764C4C44205044422E1",
        "debug_file": "tiny64.pdb",
        "code_id": "18C8E99ED000",
        "code_file": "tiny64.dll",
        "key": "tiny64.pdb/B1EF22ADB043FF764C4C44205044422E1/tiny64.sym",
    }
    fat = (binaries / "libtiny_fat.dylib").read_bytes()
    arm = tecken_core.binary_id(fat, "libtiny.dylib", arch="arm64")
    assert (arm["os"], arm["arch"], arm["debug_id"]) == ("Mac", "arm64", "4C4C447455553144A156208E8F08E9500")
    with pytest.raises(tecken_core.InvalidInputError) as e:
        tecken_core.binary_id(fat, "libtiny.dylib")
    assert e.value.kind == "invalid_input" and isinstance(e.value, ValueError)
    with pytest.raises(tecken_core.NotFoundError):
        tecken_core.binary_id(fat, "libtiny.dylib", arch="ppc")


def test_binary_id_rejects_what_is_not_a_binary() -> None:
    for data in (b"", b"MODULE Linux x86_64 0 x\n", b"\x7fELF\x02\x01"):
        with pytest.raises(tecken_core.InvalidInputError):
            tecken_core.binary_id(data, "x")
    with pytest.raises(TypeError):
        tecken_core.binary_id("not bytes", "x")  # type: ignore[arg-type]


# --- symbolication ------------------------------------------------------------------------


def test_symbolicate_v5_and_v4(sym: tecken_core.Symbolicator) -> None:
    out = json.loads(sym.symbolicate_v5(BODY))
    frames = out["results"][0]["stacks"][0]
    assert frames[0]["function"] == "testproj::main" and frames[1]["function_offset"] == "0x43"
    assert out["results"][0]["found_modules"] == {f"testproj/{TESTPROJ_ID}": True}
    assert "debug" in json.loads(sym.symbolicate_v5(BODY, debug=True))
    v4 = json.loads(sym.symbolicate_v4(BODY))
    assert v4["knownModules"] == [True]
    assert sym.symbolicate_v4_with_status(BODY)[0] == 200
    # Every input type gives the same bytes.
    want = sym.symbolicate_v5(BODY)
    for body in (BODY.decode(), bytearray(BODY), memoryview(BODY)):
        assert sym.symbolicate_v5(body) == want
    assert sym.open_modules == 1 and sym.open_bytes > 0


def test_source_specs_are_the_cores(tmp_path: Path) -> None:
    # A directory with v1/ is a store (what SymbolStore.local and upload_archive write), any
    # other the plain layout; str and os.PathLike read alike.
    store_dir = tmp_path / "store"
    tecken_core.SymbolStore.local(store_dir).upload_archive(
        make_zip({f"testproj/{TESTPROJ_ID}/testproj.sym": TESTPROJ.read_bytes()}))
    plain = tmp_path / "plain"
    put_sym(plain, "testproj", TESTPROJ_ID, TESTPROJ.read_bytes())
    for source in (store_dir, str(store_dir), plain, f"file://{plain}"):
        got = json.loads(tecken_core.Symbolicator(source).symbolicate_v5(BODY))  # type: ignore[arg-type]
        assert got["results"][0]["found_modules"] == {f"testproj/{TESTPROJ_ID}": True}, source
    # A typo must not read as "every module missing".
    for missing in (tmp_path / "nope", str(tmp_path / "nope")):
        with pytest.raises(tecken_core.NotFoundError):
            tecken_core.Symbolicator(missing)  # type: ignore[arg-type]
    for bad in ("", "s3://", "ftp://host/x"):
        with pytest.raises(tecken_core.InvalidInputError):
            tecken_core.Symbolicator(bad)
        with pytest.raises(tecken_core.InvalidInputError):
            tecken_core.SymbolStore.open(bad)


def test_typed_symbolicate(sym: tecken_core.Symbolicator) -> None:
    r = sym.symbolicate([("testproj", TESTPROJ_ID), ["nothere.so", "AB"]], [[(0, 0x5380), [1, 4], (-1, -1)]])
    f0, f1, f2 = r.stacks[0]
    assert (f0.frame, f0.module, f0.module_offset, f0.function, f0.function_offset) == (
        0, "testproj", 0x5380, "testproj::main", 0)
    assert f0.file and f0.line == 1
    assert (f1.module, f1.function) == ("nothere.so", None)
    assert (f2.module, f2.module_offset) == ("<unknown>", None)
    assert r.found_modules == {f"testproj/{TESTPROJ_ID}": True, "nothere.so/AB": False}
    assert f0 == sym.symbolicate([("testproj", TESTPROJ_ID)], [[(0, 0x5380)]]).stacks[0][0]
    assert "SymbolicatedFrame(" in repr(f0) and "JobResult(" in repr(r)


def test_context_manager_and_close(tmp_path: Path) -> None:
    put_sym(tmp_path, "testproj", TESTPROJ_ID, TESTPROJ.read_bytes())
    with tecken_core.Symbolicator([tmp_path], cache_dir=tmp_path / "cache") as s:
        assert json.loads(s.symbolicate_v5(BODY))["results"][0]["found_modules"]
        assert not s.closed
    assert s.closed
    s.close()  # idempotent
    with pytest.raises(tecken_core.InvalidInputError):
        s.symbolicate_v5(BODY)
    # The index was built into the cache directory.
    assert list((tmp_path / "cache").rglob("*.tidx"))


# --- errors -------------------------------------------------------------------------------


TREE = {
    "InvalidInputError": ("invalid_input", ValueError),
    "MalformedSymError": ("malformed_sym", ValueError),
    "BadRequestError": ("bad_request", ValueError),
    "LimitExceededError": ("limit_exceeded", ValueError),
    "CorruptIndexError": ("corrupt_index", ValueError),
    "IndexTooOldError": ("index_too_old", ValueError),
    "IndexTooNewError": ("index_too_new", ValueError),
    "NotFoundError": ("not_found", LookupError),
    "IoError": ("io", OSError),
    "StorageError": ("storage", OSError),
    "InternalError": ("internal", RuntimeError),
}


@pytest.mark.parametrize("name", sorted(TREE))
def test_exception_tree(name: str) -> None:
    cls = getattr(tecken_core, name)
    kind, builtin = TREE[name]
    assert issubclass(cls, tecken_core.TeckenError) and issubclass(cls, builtin)
    assert cls.kind == kind and cls.__module__ == "tecken_core"
    assert issubclass(tecken_core.IndexTooOldError, tecken_core.CorruptIndexError)


def test_errors_carry_kind_status_body_and_pickle(sym: tecken_core.Symbolicator) -> None:
    with pytest.raises(tecken_core.BadRequestError) as e:
        sym.symbolicate_v5(b'{"stacks": [[[0, 1]]]}')
    err = e.value
    assert (err.kind, err.status) == ("bad_request", 400)
    assert err.body is not None and "title" in json.loads(err.body)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is tecken_core.BadRequestError
    assert (again.kind, again.status, again.body) == (err.kind, err.status, err.body)


def test_panic_becomes_internal_error() -> None:
    from tecken_core import _native

    with pytest.raises(tecken_core.InternalError) as e:
        _native._test_panic()  # type: ignore[attr-defined]
    assert e.value.kind == "internal" and isinstance(e.value, RuntimeError)
    # The interpreter and the module still work.
    assert tecken_core.parse_sym_header(TESTPROJ.read_bytes())["debug_file"] == "testproj"


# --- bad input from Python ----------------------------------------------------------------


@pytest.mark.parametrize("body", [None, 42, 1.5, ["{}"], {"stacks": []}, object()])
def test_wrong_body_types_are_type_errors(sym: tecken_core.Symbolicator, body: object) -> None:
    with pytest.raises(TypeError):
        sym.symbolicate_v5(body)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sym.symbolicate_v4_with_status(body)  # type: ignore[arg-type]


def test_wrong_argument_types(tmp_path: Path, sym: tecken_core.Symbolicator) -> None:
    with pytest.raises(TypeError):
        tecken_core.build_index("MODULE as str")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tecken_core.Index.open(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tecken_core.Symbolicator(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sym.symbolicate("testproj", [[(0, 1)]])
    with pytest.raises(TypeError):
        sym.symbolicate([("testproj", TESTPROJ_ID)], [[(0, "0x10")]])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        tecken_core.SymbolStore.local(tmp_path).upload_archive(42)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        tecken_core.build_index(TESTPROJ.read_bytes()).lookup(-1)


def test_bad_values_are_tecken_errors(sym: tecken_core.Symbolicator) -> None:
    with pytest.raises(tecken_core.InvalidInputError):
        sym.symbolicate([("testproj",)], [[(0, 1)]])
    with pytest.raises(tecken_core.InvalidInputError):
        sym.symbolicate([("testproj", TESTPROJ_ID)], [[(0, 2**70)]])
    with pytest.raises(tecken_core.InvalidInputError):
        sym.symbolicate([("testproj", TESTPROJ_ID)], [[(0, 1, 2)]])
    with pytest.raises(tecken_core.BadRequestError) as e:
        sym.symbolicate([("testproj", TESTPROJ_ID)], [[(1, 1)]])
    assert e.value.status == 400
    with pytest.raises(tecken_core.InvalidInputError):
        tecken_core.Symbolicator([], negative_ttl=-1.0)
    with pytest.raises(ValueError):  # UnicodeEncodeError: no UTF-8 form
        sym.symbolicate_v5('{"stacks": "\ud800"}')


def test_huge_bodies_are_refused_with_a_kind(sym: tecken_core.Symbolicator) -> None:
    huge = b"x" * (11 << 20)
    with pytest.raises(tecken_core.TeckenError) as e:
        sym.symbolicate_v5(huge)
    assert (e.value.kind, e.value.status) == ("bad_request", 413)
    assert sym.symbolicate_v5_with_status(huge)[0] == 413
    # Limits are settings of the symbolicator.
    small = tecken_core.Symbolicator([], max_body_bytes=10)
    assert small.symbolicate_v5_with_status(BODY)[0] == 413
    frames = json.dumps({"stacks": [[[0, 1]] * 20], "memoryMap": [["a", "AB"]]})
    assert tecken_core.Symbolicator([], max_frames=10).symbolicate_v5_with_status(frames)[0] == 413
