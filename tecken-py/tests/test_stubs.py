"""The type stubs match the module (mypy's stubtest), and typed code using the API passes
`mypy --strict`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=HERE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubtest() -> None:
    run("mypy.stubtest", "tecken_core", "--allowlist", str(HERE / "stubtest-allowlist.txt"))


def test_typed_usage_passes_mypy_strict() -> None:
    run("mypy", "--strict", "--no-incremental", str(HERE / "typing_check.py"))
