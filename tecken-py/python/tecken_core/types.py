"""Types of the values the API takes and returns, for annotations:
``from tecken_core.types import UploadResult``.

Reports (upload results, headers, syminfo) are plain dicts in the core's JSON shapes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, TypedDict, Union

if TYPE_CHECKING:
    from ._native import SymbolStore

StrPath = Union[str, "os.PathLike[str]"]
"""A path: ``str`` or ``os.PathLike``."""
BytesLike = Union[bytes, bytearray, memoryview]
"""Bytes input: ``bytes`` and ``str`` bodies are read in place, mutable buffers copied."""
SourceLike = Union["SymbolStore", str, "os.PathLike[str]"]
"""A symbolicator source: a store, a spec (``s3://...``, ``https://...``, a directory), a path."""


class CodeId(TypedDict):
    id: str
    file: str | None

class SymHeader(TypedDict):
    os: str
    arch: str
    debug_id: str
    debug_file: str
    code_id: CodeId | None
    generator: str | None
    info: list[list[str]]
    first_info_is_pe_code_id: bool

class BinaryId(TypedDict):
    os: str  # "Linux", "Mac" or "windows"
    arch: str  # "x86_64", "arm64", ... ("unknown" for a machine Breakpad has no name for)
    debug_id: str
    debug_file: str  # the PDB's basename for PE, else the binary's name
    code_id: str | None
    code_file: str | None  # the PE file's name; None for ELF and Mach-O
    key: str | None  # the .sym's key, {debug_file}/{debug_id}/{sym_file}

class LineError(TypedDict):
    line: int
    reason: str

class ParseReport(TypedDict):
    lines: int
    files: int
    inline_origins: int
    funcs: int
    line_records: int
    inlines: int
    publics: int
    stack_cfi_init: int
    stack_cfi: int
    stack_win: int
    infos: int
    skipped: int
    errors: list[LineError]
    overlapping_funcs: int
    empty_funcs: int

class IndexMeta(TypedDict):
    header: SymHeader
    report: ParseReport
    input_bytes: int

# "try" is a keyword, hence the functional form; read it as info["try"].
SymInfo = TypedDict(
    "SymInfo",
    {
        "debug_filename": str,
        "debug_id": str,
        "code_file": str | None,
        "code_id": str | None,
        "generator": str | None,
        "key": str,  # the storage key of the .sym: v1/xul.pdb/ID/xul.sym
        "try": bool,  # whether it is in the Try area
    },
)

class FileReport(TypedDict):
    key: str
    member: str
    size: int
    stored_size: int
    compressed: bool
    md5: str

class IgnoredFile(TypedDict):
    member: str
    size: int

class ModuleMismatch(TypedDict):
    key_debug_file: str
    key_debug_id: str
    module_debug_file: str
    module_debug_id: str

class SymFileReport(TypedDict):
    key: str
    header: SymHeader | None
    header_error: str | None
    module_mismatch: ModuleMismatch | None

class UploadResult(TypedDict):
    try_symbols: bool
    archive_size: int
    content_hash: str
    uploaded: list[FileReport]
    skipped: list[FileReport]
    ignored: list[IgnoredFile]
    symbols: list[SymFileReport]


# "try" is a keyword, hence the functional form.
DownloadResult = TypedDict(
    "DownloadResult",
    {
        "status": Literal["found", "redirect", "ignored", "not_found"],
        # found: the storage key (v1/xul.pdb/ID/xul.sym, try/v1/...); redirect: the path
        # to redirect to (ssltunnel/ID/ssltunnel.sym); else None.
        "key": str | None,
        # The rest describe a found file (False / None otherwise).
        "try": bool,
        "size": int | None,  # the stored size
        "content_type": str | None,
        "content_encoding": str | None,  # "gzip" for a .sym read with body="stored"
        "body": bytes | None,  # None with body="none"
    },
)
