"""The binding parity cases (`fixtures/bindings/parity.json`) against the Python binding.

The core and the Node binding check the same cases, so the bindings cannot drift apart.
Names in the fixture are the core's; Python spells them the same. See
`fixtures/bindings/README.md` for the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
    for address, expected in zip(case["addresses"], case["expect"], strict=True):
        frame = index.lookup(address, **options)
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
        response = json.loads(sym.symbolicate_v5(body))
    return {"response": response}


def check_value(op: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    """An op that returns a value, checked against `expect` (errors included)."""

    def check(case: dict[str, Any]) -> None:
        expected = case["expect"]
        if "error" in expected:
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
    "symbolicate_v5": check_value(symbolicate_v5),
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
