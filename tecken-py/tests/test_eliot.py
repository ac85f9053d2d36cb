"""Eliot compatibility through Python: the golden suite (byte for byte) and every observed
Eliot request (fixtures/tecken/api-samples/eliot-symbolicate-observed.json), as
tecken-core/tests/v5_golden.rs and v5_observed.rs check them in Rust."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tecken_core
from conftest import FIXTURES, golden_cases

GOLDEN = golden_cases()




def hex_or(v: int | None) -> str:
    return "-0x1" if v is None else hex(v)


def frame_as_json(f: tecken_core.SymbolicatedFrame) -> dict[str, Any]:
    """A typed frame in the v5 JSON shape (offsets as hex strings, absent fields left out)."""
    d: dict[str, Any] = {"frame": f.frame, "module": f.module, "module_offset": hex_or(f.module_offset)}
    if f.function is not None:
        d["function"] = f.function
    if f.function_offset is not None:
        d["function_offset"] = hex(f.function_offset)
    if f.file is not None:
        d["file"] = f.file
    if f.line is not None:
        d["line"] = f.line
    if f.inlines:
        d["inlines"] = [
            {k: v for k, v in (("function", i.function), ("file", i.file), ("line", i.line)) if v is not None}
            for i in f.inlines
        ]
    return d


@pytest.mark.parametrize("name,case", GOLDEN, ids=[n for n, _ in GOLDEN])
def test_golden_v5_bytes(golden_dir: Path, name: str, case: dict) -> None:
    golden_sym = tecken_core.Symbolicator(golden_dir / name)
    body = json.dumps(case["request"]).encode()
    want = json.dumps(case["expected_response"]).encode()
    assert golden_sym.symbolicate_v5(body) == want
    assert golden_sym.symbolicate_v5_with_status(body) == (200, want)


@pytest.mark.parametrize("name,case", GOLDEN, ids=[n for n, _ in GOLDEN])
def test_golden_typed(golden_dir: Path, name: str, case: dict) -> None:
    golden_sym = tecken_core.Symbolicator(golden_dir / name)
    (job,) = case["request"]["jobs"]
    (want,) = case["expected_response"]["results"]
    got = golden_sym.symbolicate(job["memoryMap"], job["stacks"])
    assert [[frame_as_json(f) for f in s] for s in got.stacks] == want["stacks"]
    assert got.found_modules == want["found_modules"]


def test_golden_suite_is_complete() -> None:
    assert len(GOLDEN) == 13


# Where the core answers differently from Eliot on purpose (see tecken-core's v5 docs):
# one list, shared with the Django example's tests.
DELIBERATE = {
    name: (status, body)
    for name, (status, body) in json.loads(
        (FIXTURES.parent / "bindings" / "eliot-deliberate.json").read_text()
    )["cases"].items()
}

OBSERVED = json.loads((FIXTURES / "api-samples" / "eliot-symbolicate-observed.json").read_text())["cases"]


def shape(v: Any) -> Any:
    """Keys in order and value types, not the timing values of a debug block."""
    if isinstance(v, dict):
        return [(k, shape(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__


def test_observed_eliot_cases(eliot_dir: Path) -> None:
    # One symbolicator for all cases, in order, like the observed Eliot.
    sym = tecken_core.Symbolicator(eliot_dir)
    checked = skipped = different = 0
    for case in OBSERVED:
        name, path = case["name"], case["path"]
        if case["method"] != "POST" or path not in ("/symbolicate/v5", "/symbolicate/v4"):
            skipped += 1  # 405 and 404 belong to the HTTP layer
            continue
        raw = case["request_body"]
        text = raw if isinstance(raw, str) else json.dumps(raw)
        debug = bool(case.get("request_headers", {}).get("Debug"))
        if name in DELIBERATE:
            different += 1
            want_status, want_text = DELIBERATE[name]
        else:
            want_status, want_text = case["status"], json.dumps(case["response"])
        v5 = path.endswith("v5")
        # str in (with_status), bytes in (raising form): both answer the same.
        status, got = sym.symbolicate_v5_with_status(text, debug=debug) if v5 else sym.symbolicate_v4_with_status(text)
        assert status == want_status, name
        call = (lambda: sym.symbolicate_v5(text.encode(), debug=debug)) if v5 else (lambda: sym.symbolicate_v4(text.encode()))
        if status == 200:
            raised = call()
        else:
            with pytest.raises(tecken_core.BadRequestError) as e:
                call()
            assert (e.value.kind, e.value.status) == ("bad_request", status), name
            raised = e.value.body
        if debug:
            # Timings differ run to run: same keys, order and types; results byte for byte.
            g, w = json.loads(got), json.loads(want_text)
            assert shape(g) == shape(w), name
            assert json.dumps(g["results"]) == json.dumps(w["results"]), name
            assert json.dumps(json.loads(raised)["results"]) == json.dumps(w["results"]), name
        else:
            assert got == want_text.encode(), name
            assert raised == got, name
        checked += 1
    assert (checked, skipped, different) == (48, 2, 4)
