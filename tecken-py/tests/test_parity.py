"""The binding parity cases (`fixtures/bindings/parity.json`) against the Python binding.

The core and the Node binding check the same cases, so the bindings cannot drift apart.
Names in the fixture are the core's; Python spells them the same. See
`fixtures/bindings/README.md` for the format.
"""

from __future__ import annotations

import hashlib

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tecken_core
from conftest import ROOT

PARITY = json.loads((ROOT / "fixtures" / "bindings" / "parity.json").read_text())
CASES = PARITY["cases"]


def public_names(obj: object) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def input_bytes(case: dict[str, Any], key: str = "sym") -> bytes:
    if "data" in case:
        return str(case["data"]).encode()
    return (ROOT / str(case[key])).read_bytes()


def frame_value(frame: Any, expected: dict[str, Any]) -> dict[str, Any]:
    """`frame` in the fixture's form, after checking that it has exactly the expected
    fields (a field only one binding has fails here)."""
    assert public_names(frame) == set(expected), f"{type(frame).__name__} fields"
    out = {name: getattr(frame, name) for name in expected if name != "inlines"}
    if "inlines" in expected:
        assert len(frame.inlines) == len(expected["inlines"]), "inline frames"
        out["inlines"] = [frame_value(i, e) for i, e in zip(frame.inlines, expected["inlines"])]
    return out


def build(case: dict[str, Any]) -> tecken_core.Index:
    return tecken_core.build_index(input_bytes(case), **case.get("options", {}))


def lookup(case: dict[str, Any]) -> None:
    index = build_for_lookup(case)
    options = case.get("options", {})
    if case["op"] == "lookup_many":
        frames = index.lookup_many(case["addresses"], **options)
    else:
        frames = [index.lookup(address, **options) for address in case["addresses"]]
    for address, frame, expected in zip(case["addresses"], frames, case["expect"], strict=True):
        if frame is None or expected is None:
            assert frame is None and expected is None, f"address {address:#x}: {frame!r}"
            continue
        assert frame_value(frame, expected) == expected, f"address {address:#x}"


def build_for_lookup(case: dict[str, Any]) -> tecken_core.Index:
    return tecken_core.build_index(input_bytes(case))


def parse_sym_header(case: dict[str, Any]) -> object:
    return tecken_core.parse_sym_header(input_bytes(case))


def build_index(case: dict[str, Any]) -> object:
    return {"header": build(case).header}


def open_index(case: dict[str, Any]) -> object:
    with tecken_core.Index.open(ROOT / case["index"]) as index:
        header = index.header
    return {"header": header}


def symbolicate_v5(case: dict[str, Any]) -> object:
    sources = [str(ROOT / s) for s in case["sources"]]
    with tecken_core.Symbolicator(sources, **case.get("options", {})) as sym:
        body = case["request_text"] if "request_text" in case else json.dumps(case["request"])
        if case["op"] == "symbolicate_v5_with_status":
            status, out = sym.symbolicate_v5_with_status(body)
            return {"status": status, "response": json.loads(out)}
        response = json.loads(sym.symbolicate_v5(body))
    return {"response": response}


def index_meta(case: dict[str, Any]) -> object:
    return {"meta": build(case).meta}


def verify(case: dict[str, Any], tmp_path: Path) -> object:
    with tecken_core.build_index(input_bytes(case), tmp_path / "index") as index:
        index.verify()
    return {"verified": True}


def uploaded(case: dict[str, Any], tmp_path: Path) -> tuple[tecken_core.SymbolStore, object]:
    """A local store with the case's archive uploaded, and the upload's result."""
    store = tecken_core.SymbolStore.local(tmp_path / "store")
    result = store.upload_archive(ROOT / case["archive"], **case.get("options", {}))
    return store, result


def error_value(err: tecken_core.TeckenError) -> dict[str, Any]:
    return {"error": {"kind": err.kind, "status": err.status}}


def syminfo(case: dict[str, Any], tmp_path: Path) -> object:
    store, _ = uploaded(case, tmp_path)
    return [store.syminfo(file, id) for file, id in case["queries"]]


def download_value(store: tecken_core.SymbolStore, request: dict[str, Any]) -> object:
    options = dict(request.get("options", {}))
    if "try" in options:
        options["try_"] = options.pop("try")
    try:
        result = dict(store.download(request["debug_file"], request["debug_id"], request["file"], **options))
    except tecken_core.TeckenError as e:
        return error_value(e)
    if result["body"] is not None:
        result["body"] = result["body"].decode()
    return result


def download(case: dict[str, Any], tmp_path: Path) -> object:
    store, _ = uploaded(case, tmp_path)
    return [download_value(store, r) for r in case["requests"]]


def upload_archive(case: dict[str, Any], tmp_path: Path) -> object:
    return {"upload": uploaded(case, tmp_path)[1]}


def planned_value(planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upload v2 actions, a session id shown as ``<session>`` (ids are random)."""
    return [
        {**p, "action": {**p["action"], "session": "<session>"}} if p["action"]["type"] == "upload" else p
        for p in planned
    ]


def upload_v2(case: dict[str, Any], tmp_path: Path) -> object:
    data = input_bytes(case)
    store = tecken_core.SymbolStore.local(tmp_path / "store")
    sessions = tecken_core.UploadSessions(tmp_path / "sessions")
    options = {("try_" if k == "try" else k): v for k, v in case.get("options", {}).items()}
    spec = {"key": case["key"], "size": len(data), "md5_hash": hashlib.md5(data).hexdigest()}
    planned = sessions.start(store, [spec], **options)
    chunks = []
    if planned[0]["action"]["type"] == "upload":
        session, pos = planned[0]["action"]["session"], 0
        for size in case["chunks"]:
            n = len(data) - pos if size is None else size
            with sessions.begin(session, f"bytes {pos}-{pos + n - 1}/{len(data)}") as w:
                w.write(data[pos : pos + n])
                chunks.append(w.finish(store))
            pos += n
    again = sessions.start(store, [spec], **options)
    return {"planned": planned_value(planned), "chunks": chunks, "again": planned_value(again)}


def in_tmp(op: Callable[[dict[str, Any], Path], object]) -> Callable[[dict[str, Any]], object]:
    """An op that needs a temporary directory."""

    def run(case: dict[str, Any]) -> object:
        with tempfile.TemporaryDirectory() as tmp:
            return op(case, Path(tmp))

    return run


def check_value(op: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    """An op that returns a value, checked against `expect` (errors included)."""

    def check(case: dict[str, Any]) -> None:
        expected = case["expect"]
        if isinstance(expected, dict) and "error" in expected:
            want = expected["error"]
            with pytest.raises(tecken_core.TeckenError) as info:
                op(case)
            err = info.value
            body = None if err.body is None else err.body.decode()
            assert (err.kind, err.status, body) == (want["kind"], want["status"], want.get("body"))
        else:
            assert op(case) == expected

    return check


OPS: dict[str, Callable[[dict[str, Any]], None]] = {
    "parse_sym_header": check_value(parse_sym_header),
    "build_index": check_value(build_index),
    "open_index": check_value(open_index),
    "lookup": lookup,
    "lookup_many": lookup,
    "index_meta": check_value(index_meta),
    "verify": check_value(in_tmp(verify)),
    "upload_archive": check_value(in_tmp(upload_archive)),
    "syminfo": check_value(in_tmp(syminfo)),
    "download": check_value(in_tmp(download)),
    "symbolicate_v5": check_value(symbolicate_v5),
    "symbolicate_v5_with_status": check_value(symbolicate_v5),
    "upload_v2": check_value(in_tmp(upload_v2)),
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parity_case(case: dict[str, Any]) -> None:
    op = OPS.get(case["op"])
    assert op is not None, f"unknown op {case['op']!r}: support it in this binding"
    gap = case.get("gaps", {}).get("python")
    if gap is None:
        op(case)
        return
    try:
        op(case)
    except (AssertionError, TypeError, tecken_core.TeckenError):
        pytest.xfail(gap)
    pytest.fail(f"the Python gap is closed ({gap}): remove it from the case")
