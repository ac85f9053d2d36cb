"""Type stubs of the native module; checked against it by mypy's stubtest (test.sh)."""

import datetime
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal, TypedDict, final

from typing_extensions import Self

from .types import BinaryId, BytesLike, DownloadResult, IndexMeta, SourceLike, StrPath, SymHeader, SymInfo, UploadResult

__version__: str

# ---------------------------------------------------------------------------------------
# Errors

class TeckenError(Exception):
    """Base of every tecken_core error."""

    kind: str
    """Stable name of the error's kind ("not_found", "bad_request", ...)."""
    status: int
    """The HTTP status to answer with."""
    body: bytes | None
    """The response body (Eliot's error JSON) for BadRequestError, else None."""

class InvalidInputError(TeckenError, ValueError): ...
class MalformedSymError(TeckenError, ValueError): ...
class BadRequestError(TeckenError, ValueError): ...
class LimitExceededError(TeckenError, ValueError): ...
class CorruptIndexError(TeckenError, ValueError): ...
class IndexTooOldError(CorruptIndexError): ...
class IndexTooNewError(CorruptIndexError): ...
class NotFoundError(TeckenError, LookupError): ...
class IoError(TeckenError, OSError): ...
class StorageError(TeckenError, OSError): ...
class InternalError(TeckenError, RuntimeError): ...

# ---------------------------------------------------------------------------------------
# Frames

@final
class InlineFrame:
    @property
    def function(self) -> str: ...
    @property
    def file(self) -> str | None: ...
    @property
    def raw_file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...

@final
class Frame:
    @property
    def function(self) -> str: ...
    @property
    def function_address(self) -> int: ...
    @property
    def function_offset(self) -> int: ...
    @property
    def kind(self) -> Literal["func", "public"]: ...
    @property
    def multiple(self) -> bool: ...
    @property
    def file(self) -> str | None: ...
    @property
    def raw_file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def inlines(self) -> list[InlineFrame]: ...

@final
class SymbolicatedInline:
    @property
    def function(self) -> str: ...
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...

@final
class SymbolicatedFrame:
    @property
    def frame(self) -> int: ...
    @property
    def module(self) -> str: ...
    @property
    def module_offset(self) -> int | None: ...
    @property
    def function(self) -> str | None: ...
    @property
    def function_offset(self) -> int | None: ...
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def inlines(self) -> list[SymbolicatedInline]: ...

@final
class JobResult:
    @property
    def stacks(self) -> list[list[SymbolicatedFrame]]: ...
    @property
    def found_modules(self) -> dict[str, bool | None]: ...

# ---------------------------------------------------------------------------------------
# Index

@final
class Index:
    @staticmethod
    def open(path: StrPath) -> Index: ...
    def lookup(self, address: int, *, strict_lines: bool = False) -> Frame | None: ...
    def lookup_many(self, addresses: Sequence[int], *, strict_lines: bool = False) -> list[Frame | None]: ...
    def verify(self) -> None: ...
    @property
    def header(self) -> SymHeader: ...
    @property
    def meta(self) -> IndexMeta: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def is_mapped(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...

def build_index(
    sym: BytesLike,
    output: StrPath | None = None,
    *,
    strict: bool = False,
    threads: int = 0,
) -> Index: ...
def parse_sym_header(data: BytesLike) -> SymHeader: ...
def binary_id(data: BytesLike, name: StrPath, *, arch: str | None = None) -> BinaryId: ...
def auth_token_matches(expected: str, presented: str) -> bool: ...
def tecken_debug_requested(value: str) -> bool: ...
def stackwalk(
    minidump: BytesLike | StrPath,
    symbols: SourceLike | Sequence[SourceLike],
    cache: StrPath | None = None,
    *,
    pretty: bool = False,
    load_threads: int = 4,
) -> str: ...

# ---------------------------------------------------------------------------------------
# Store

@final
class SymbolStore:
    @staticmethod
    def local(root: StrPath) -> SymbolStore: ...
    @staticmethod
    def open(spec: StrPath) -> SymbolStore: ...
    @staticmethod
    def http(
        base_url: str,
        *,
        layout: Literal["tecken", "bucket"] = "tecken",
        timeout: float | None = None,
        connect_timeout: float | None = None,
        retries: int | None = None,
    ) -> SymbolStore: ...
    @staticmethod
    def s3(
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        force_path_style: bool | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
        create_bucket: bool = False,
    ) -> SymbolStore: ...
    @staticmethod
    def chain(stores: Sequence[SymbolStore]) -> SymbolStore: ...
    def get(self, debug_file: str, debug_id: str, file: str, *, try_: bool = False) -> bytes | None: ...
    def exists(self, debug_file: str, debug_id: str, file: str, *, try_: bool = False) -> bool: ...
    def download(
        self,
        debug_file: str,
        debug_id: str,
        file: str,
        *,
        try_: bool = False,
        code_file: str | None = None,
        code_id: str | None = None,
        body: Literal["decoded", "stored", "none"] = "decoded",
    ) -> DownloadResult: ...
    def syminfo(self, file: str, id: str) -> SymInfo | None: ...
    def upload_archive(
        self,
        archive: StrPath | BytesLike,
        *,
        try_: bool = False,
        archive_name: str | None = None,
    ) -> UploadResult: ...
    def upload_archive_from_url(
        self,
        url: str,
        *,
        allowed_hosts: list[str],
        allow_http: bool = False,
        max_size: int | None = None,
        try_: bool = False,
    ) -> dict[str, Any]: ...
    def missing_symbols_csv(
        self,
        *,
        since: float | datetime.datetime | None = None,
        pdb_only: bool = True,
        with_counts: bool = False,
    ) -> str: ...

# ---------------------------------------------------------------------------------------
# Upload API v2

@final
class UploadSessions:
    def __new__(
        cls,
        directory: StrPath,
        *,
        max_files: int = 1000,
        max_open: int = 10000,
        ttl: float = 86400.0,
    ) -> UploadSessions: ...
    def start(
        self,
        store: SymbolStore,
        files: Sequence[dict[str, Any]],
        *,
        try_: bool = False,
        max_file_size: int | None = None,
    ) -> list[dict[str, Any]]: ...
    def begin(self, session: str, content_range: str) -> ChunkWriter: ...
    def open_count(self) -> int: ...
    def sweep(self) -> int: ...

@final
class ChunkWriter:
    def write(self, data: BytesLike) -> None: ...
    def finish(self, store: SymbolStore, *, max_file_size: int | None = None) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> bool: ...

# ---------------------------------------------------------------------------------------
# Symbolicator

@final
class Symbolicator:
    def __new__(
        cls,
        sources: SourceLike | Sequence[SourceLike],
        *,
        cache_dir: StrPath | None = None,
        max_cache_bytes: int | None = None,
        max_open_bytes: int | None = None,
        negative_ttl: float | None = None,
        max_negative_entries: int | None = None,
        max_jobs: int | None = None,
        max_body_bytes: int | None = None,
        max_frames: int | None = None,
        max_modules: int | None = None,
    ) -> Self: ...
    def symbolicate_v5(self, body: BytesLike | str, *, debug: bool = False) -> bytes: ...
    def symbolicate_v5_with_status(self, body: BytesLike | str, *, debug: bool = False) -> tuple[int, bytes]: ...
    def symbolicate_v4(self, body: BytesLike | str) -> bytes: ...
    def symbolicate_v4_with_status(self, body: BytesLike | str) -> tuple[int, bytes]: ...
    def symbolicate(
        self,
        modules: Sequence[Sequence[str]],
        stacks: Sequence[Sequence[Sequence[int]]],
    ) -> JobResult: ...
    def forget_missing(self, debug_file: str, debug_id: str) -> None: ...
    def forget_uploaded(self, result: UploadResult) -> None: ...
    @property
    def open_modules(self) -> int: ...
    @property
    def open_bytes(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...
