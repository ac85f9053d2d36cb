"""Typed use of the API, checked by `mypy --strict` (test_stubs.py); not run."""

from __future__ import annotations

from pathlib import Path

import tecken_core


def view(sym: tecken_core.Symbolicator, body: bytes) -> tuple[int, bytes]:
    try:
        return 200, sym.symbolicate_v5(body, debug=False)
    except tecken_core.BadRequestError as e:
        assert e.body is not None
        return e.status, e.body


def usage(root: Path) -> None:
    store = tecken_core.SymbolStore.local(root)
    sym = tecken_core.Symbolicator([store, root / "plain", "s3://bucket/prefix"], cache_dir=root / "cache")
    status, body = sym.symbolicate_v5_with_status(b"{}")
    result = sym.symbolicate([("xul.pdb", "AB")], [[(0, 0x1000)]])
    frame: tecken_core.SymbolicatedFrame = result.stacks[0][0]
    name: str | None = frame.function
    found: bool | None = result.found_modules["xul.pdb/AB"]
    upload = store.upload_archive(root / "symbols.zip", try_=True)
    keys: list[str] = [f["key"] for f in upload["uploaded"]]
    info = store.syminfo("xul.pdb", "AB")
    in_try: bool = info["try"] if info else False
    with tecken_core.Index.open(root / "x.tidx") as ix:
        hit = ix.lookup(0x1000)
        line: int | None = hit.line if hit else None
        debug_id: str = ix.header["debug_id"]
    header = tecken_core.parse_sym_header(b"MODULE Linux x86_64 AB x\n")
    code = header["code_id"]
    bid = tecken_core.binary_id(b"", root / "libx.so", arch="x86_64")
    bid_key: str | None = bid["key"]
    print(bid["debug_id"], bid_key)
    walked: str = tecken_core.stackwalk(root / "crash.dmp", [store, "s3://bucket/prefix"], cache=root / "cache")
    walked = tecken_core.stackwalk(b"MDMP", root / "plain", pretty=True, load_threads=2)
    print(walked)
    print(status, body, name, found, keys, in_try, line, debug_id, code, tecken_core.__version__)
