"""Tecken's upload API v2 from Python: sessions, chunks written in pieces, the stored file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import tecken_core

KEY = "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"
SYM = b"MODULE Linux x86_64 A7D6F1BB18CD4CB48 xpcshell.dbg\n" + b"".join(
    b"FUNC %x 10 0 f%d\n" % (i * 16, i) for i in range(5000)
)


def spec(key: str, data: bytes) -> dict[str, object]:
    return {"key": key, "size": len(data), "md5_hash": hashlib.md5(data).hexdigest()}


def test_a_file_sent_in_chunks_is_stored(tmp_path: Path) -> None:
    store = tecken_core.SymbolStore.local(tmp_path / "store")
    sessions = tecken_core.UploadSessions(tmp_path / "sessions")
    planned = sessions.start(store, [spec(KEY, SYM), spec("bad.sym", b"x")])
    assert [p["key"] for p in planned] == [KEY, "bad.sym"]
    assert planned[0]["action"]["type"] == "upload"
    assert planned[1]["action"]["type"] == "error" and "bad.sym" in planned[1]["action"]["msg"]
    session = planned[0]["action"]["session"]
    assert sessions.open_count() == 1

    half = len(SYM) // 2
    with sessions.begin(session, f"bytes 0-{half - 1}/{len(SYM)}") as w:
        for i in range(0, half, 1000):
            w.write(memoryview(SYM)[i : min(i + 1000, half)])
        assert w.finish(store) == {"complete": False, "received": half}
        with pytest.raises(ValueError, match="finished"):
            w.write(b"more")
    assert store.get("xpcshell.dbg", "A7D6F1BB18CD4CB48", "xpcshell.sym") is None
    w = sessions.begin(session, f"bytes {half}-{len(SYM) - 1}/{len(SYM)}")
    w.write(SYM[half:])
    done = w.finish(store)
    assert done["complete"] is True
    assert done["file"]["storage_key"] == "v1/" + KEY
    assert done["file"]["md5"] == hashlib.md5(SYM).hexdigest()
    assert len(done["file"]["md5_base64"]) == 24
    assert done["result"]["uploaded"][0]["key"] == "v1/" + KEY
    assert store.get("xpcshell.dbg", "A7D6F1BB18CD4CB48", "xpcshell.sym") == SYM
    assert sessions.start(store, [spec(KEY, SYM)])[0]["action"] == {"type": "skip"}


def test_errors_are_tecken_errors(tmp_path: Path) -> None:
    store = tecken_core.SymbolStore.local(tmp_path / "store")
    sessions = tecken_core.UploadSessions(tmp_path / "sessions", max_files=2)
    with pytest.raises(tecken_core.NotFoundError) as e:
        sessions.begin("0" * 32, "bytes 0-0/1")
    assert e.value.status == 404
    with pytest.raises(tecken_core.LimitExceededError):
        sessions.start(store, [spec(f"m{i}.so/ABC/m{i}.so.sym", b"x") for i in range(3)])
    with pytest.raises(ValueError, match="md5_hash"):
        sessions.start(store, [{"key": KEY, "size": 3}])
    with pytest.raises(ValueError, match="ttl"):
        tecken_core.UploadSessions(tmp_path / "s2", ttl=-1)
    session = sessions.start(store, [spec(KEY, SYM)])[0]["action"]["session"]
    with pytest.raises(tecken_core.InvalidInputError):
        sessions.begin(session, "bytes 0-9")
    w = sessions.begin(session, f"bytes 0-{len(SYM) - 1}/{len(SYM)}")
    w.write(SYM[:-1] + b"?")
    with pytest.raises(tecken_core.InvalidInputError, match="not the declared"):
        w.finish(store)
    assert store.get("xpcshell.dbg", "A7D6F1BB18CD4CB48", "xpcshell.sym") is None
