"""Shared fixtures: the repository's fixture files laid out as symbol directories."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

import tecken_core

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "tecken"


def sym_file_name(debug_file: str) -> str:
    """Tecken's rule: `xul.pdb` -> `xul.sym`, anything else gets `.sym` appended."""
    return debug_file[:-4] + ".sym" if debug_file.endswith(".pdb") else debug_file + ".sym"


def put_sym(root: Path, debug_file: str, debug_id: str, data: bytes) -> None:
    """Stores `data` in the plain symbols layout `root/{debug_file}/{debug_id}/{sym_file}`."""
    d = root / debug_file / debug_id
    d.mkdir(parents=True, exist_ok=True)
    (d / sym_file_name(debug_file)).write_bytes(data)


def eliot_syms() -> dict[tuple[str, str], bytes]:
    """The `eliot/` fixtures by their MODULE debug file and id."""
    out = {}
    for p in sorted((FIXTURES / "eliot").glob("*.sym")):
        data = p.read_bytes()
        h = tecken_core.parse_sym_header(data)
        out[(h["debug_file"], h["debug_id"])] = data
    return out


@pytest.fixture(scope="session")
def eliot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The provider behind the observed Eliot cases: the `eliot/` fixtures under their
    MODULE names, a malformed file as `junk.so`, a file whose MODULE id differs as
    `wrongid.so`."""
    root = tmp_path_factory.mktemp("eliot-symbols")
    for (debug_file, debug_id), data in eliot_syms().items():
        put_sym(root, debug_file, debug_id, data)
    put_sym(root, "junk.so", "D48F191186D67E69DF025AD71FB91E1F0", b"this is not a sym file\n")
    testproj = (FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym").read_bytes()
    put_sym(root, "wrongid.so", "000000000000000000000000000000000", testproj)
    return root


def golden_cases() -> list[tuple[str, dict]]:
    return [(p.name, json.loads(p.read_text())) for p in sorted((FIXTURES / "golden").glob("*.v5.json"))]


@pytest.fixture(scope="session")
def golden_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`{root}/{case name}/`: each golden case's `sym_fixture` under each memory map entry
    of its request (two cases use one module id with different files)."""
    root = tmp_path_factory.mktemp("golden-symbols")
    for name, case in golden_cases():
        data = (FIXTURES / case["sym_fixture"]).read_bytes()
        for job in case["request"]["jobs"]:
            for debug_file, debug_id in job["memoryMap"]:
                put_sym(root / name, debug_file, debug_id, data)
    return root


def distinct_golden_cases() -> list[tuple[str, dict]]:
    """The golden cases whose modules no earlier case uses, to serve them all from one
    symbolicator (sources: `golden_dir / name` of each)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for name, case in golden_cases():
        modules = {(f, i.upper()) for job in case["request"]["jobs"] for f, i in job["memoryMap"]}
        if not modules & seen:
            out.append((name, case))
        seen |= modules
    return out


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def eliot_zip() -> bytes:
    """A Tecken upload archive of the `eliot/` fixtures."""
    return make_zip(
        {f"{f}/{i}/{sym_file_name(f)}": data for (f, i), data in eliot_syms().items()}
    )


def s3_endpoint() -> str:
    endpoint = os.environ.get("TECKEN_TEST_S3_ENDPOINT", "")
    if not endpoint:
        pytest.skip("TECKEN_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)")
    return endpoint


_bucket_counter = 0


def s3_store(prefix: str = "") -> tecken_core.SymbolStore:
    """A store in a new bucket of the test S3 server (skips when there is none)."""
    global _bucket_counter
    endpoint = s3_endpoint()
    _bucket_counter += 1
    return tecken_core.SymbolStore.s3(
        f"tecken-py-{os.getpid()}-{_bucket_counter}-{os.urandom(3).hex()}",
        prefix=prefix,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        timeout=20.0,
        create_bucket=True,
    )
