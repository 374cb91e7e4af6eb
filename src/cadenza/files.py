"""Files written whole, and JSON read strictly. Every file Cadenza writes (scores, checkpoints, corpus logs,
reports) goes through a temporary file in the same folder, flushed to disk, then a rename, so a crash never leaves
half a file where a good one was, and a read-only file is never replaced; a JSON file it reads is refused in one
line when it is unreadable, not UTF-8, not JSON or too large."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cadenza.errors import InputError, OutputError


def read_only(path: Path) -> bool:
    """Whether ``path`` is a file nobody may write (``chmod a-w``), whoever asks (root too)."""
    try:
        return path.is_file() and not path.stat().st_mode & 0o222
    except OSError:
        return False


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if read_only(path):  # a rename would replace it all the same
        raise OutputError(f"{path} exists and is read-only: not replaced")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        tmp = Path(name)
        try:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)  # mkstemp makes files private; a user's output is not
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_json(path: Path, max_bytes: int | None = None) -> Any:
    """The JSON document in ``path``; a file that is unreadable, not UTF-8, not JSON or (given ``max_bytes``)
    larger is an InputError in one line. A missing file raises FileNotFoundError, for the caller to explain."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise InputError(f"{path} is too large ({path.stat().st_size:,} bytes; at most {max_bytes:,})")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path} is not valid JSON: {str(exc)[:200]}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
