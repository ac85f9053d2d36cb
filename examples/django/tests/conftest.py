"""Django set up once for the tests; fixtures that lay out symbols and stores."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "tecken.settings"

import django  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

django.setup()

import tecken_core  # noqa: E402

FIXTURES = HERE.parents[2] / "fixtures" / "tecken"
TOKEN = "s3cr3t-token"


def sym_file_name(debug_file: str) -> str:
    """Tecken's rule: `xul.pdb` -> `xul.sym`, anything else gets `.sym` appended."""
    return debug_file[:-4] + ".sym" if debug_file.endswith(".pdb") else debug_file + ".sym"


def eliot_syms() -> dict[tuple[str, str], bytes]:
    """The `eliot/` fixtures by their MODULE debug file and id."""
    out = {}
    for p in sorted((FIXTURES / "eliot").glob("*.sym")):
        h = tecken_core.parse_sym_header(p.read_bytes())
        out[(h["debug_file"], h["debug_id"])] = p.read_bytes()
    return out


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def put_sym(root: Path, debug_file: str, debug_id: str, data: bytes) -> None:
    d = root / debug_file / debug_id
    d.mkdir(parents=True, exist_ok=True)
    (d / sym_file_name(debug_file)).write_bytes(data)


@pytest.fixture(scope="session")
def eliot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The symbols behind the observed Eliot cases (plain layout): the `eliot/` fixtures, a
    malformed file as `junk.so`, a file whose MODULE id differs as `wrongid.so`."""
    root = tmp_path_factory.mktemp("eliot-symbols")
    for (debug_file, debug_id), data in eliot_syms().items():
        put_sym(root, debug_file, debug_id, data)
    put_sym(root, "junk.so", "D48F191186D67E69DF025AD71FB91E1F0", b"this is not a sym file\n")
    testproj = (FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym").read_bytes()
    put_sym(root, "wrongid.so", "000000000000000000000000000000000", testproj)
    return root


@pytest.fixture()
def store_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh, empty store (and index cache) for one test, with the upload token set."""
    store = tmp_path / "store"
    with override_settings(
        TECKEN_STORE=str(store),
        TECKEN_SYMBOLS=None,
        TECKEN_CACHE_DIR=str(tmp_path / "cache"),
        TECKEN_UPLOAD_TOKEN=TOKEN,
        TECKEN_DOWNLOAD_URL=None,
        TECKEN_UPLOAD_SESSIONS_DIR=str(tmp_path / "upload-sessions"),
    ):
        yield store


@pytest.fixture()
def client() -> Client:
    return Client()
