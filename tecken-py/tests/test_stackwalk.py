"""stackwalk: the bundled minidumps (fixtures/minidumps) answer the JSON minidump-processor
prints for them over breakpad-symbols; hostile dumps raise clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tecken_core

MINIDUMPS = Path(__file__).resolve().parents[2] / "fixtures" / "minidumps"
SYMBOLS = MINIDUMPS / "symbols"
BUNDLED = ["x86_64", "arm64", "x86"]


def expected(name: str) -> object:
    return json.loads((MINIDUMPS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_dumps_equal_breakpad_symbols_json(name: str, tmp_path: Path) -> None:
    dump = MINIDUMPS / f"{name}.dmp"
    # From a path (str and PathLike) and from bytes; with and without an index cache.
    by_path = tecken_core.stackwalk(str(dump), [str(SYMBOLS)])
    assert json.loads(by_path) == expected(name)
    by_bytes = tecken_core.stackwalk(dump.read_bytes(), [SYMBOLS], cache=str(tmp_path))
    assert json.loads(by_bytes) == expected(name)
    assert any(tmp_path.iterdir())
    cached = tecken_core.stackwalk(bytearray(dump.read_bytes()), SYMBOLS, tmp_path, pretty=True)
    assert json.loads(cached) == expected(name)
    assert "\n  " in cached and "\n" not in by_path


def test_frames_are_unwound_by_their_records() -> None:
    out = json.loads(tecken_core.stackwalk(MINIDUMPS / "x86.dmp", [str(SYMBOLS)]))
    frames = out["threads"][0]["frames"]
    assert [(f["function"], f["trust"]) for f in frames[:3]] == [
        ("crash_here(int)", "context"),
        ("fpo_caller", "cfi"),
        ("cfi_caller", "cfi"),
    ]


def test_not_a_minidump_is_invalid_input() -> None:
    for data in [b"", b"MDMP but not really", bytes(64)]:
        with pytest.raises(tecken_core.InvalidInputError, match="minidump") as e:
            tecken_core.stackwalk(data, [str(SYMBOLS)])
        assert e.value.kind == "invalid_input"


def test_missing_file_and_missing_symbols_dir_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(tecken_core.NotFoundError, match="nope.dmp"):
        tecken_core.stackwalk(tmp_path / "nope.dmp", [str(SYMBOLS)])
    with pytest.raises(tecken_core.NotFoundError):
        tecken_core.stackwalk(MINIDUMPS / "x86.dmp", [str(tmp_path / "no-such-dir")])


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match="minidump must be"):
        tecken_core.stackwalk(42, [str(SYMBOLS)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tecken_core.stackwalk(b"MDMP", [42])  # type: ignore[list-item]


def test_truncated_dump_is_invalid_input() -> None:
    with pytest.raises(tecken_core.InvalidInputError, match="minidump"):
        tecken_core.stackwalk(MINIDUMPS / "x86_64-truncated.dmp", [str(SYMBOLS)])


def test_lying_stack_size_leaves_the_context_frame_alone() -> None:
    out = json.loads(tecken_core.stackwalk(MINIDUMPS / "x86_64-lying.dmp", [str(SYMBOLS)]))
    frames = out["threads"][0]["frames"]
    assert [(f["function"], f["trust"]) for f in frames] == [("crash_here()", "context")]
