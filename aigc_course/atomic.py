"""Atomic file replacement that also works on Windows, where an open target cannot be replaced.

``os.replace(partial, target)`` is atomic on every platform, but on Windows it raises
``PermissionError`` while another process holds ``target`` open (an antivirus scan, a notebook that
has the file open, a file indexer). Such locks are usually brief, so the rename is retried a few
times before giving up with a clear error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aigc_course.errors import CourseError

REPLACE_ATTEMPTS = 5
REPLACE_DELAY_SECONDS = 0.2


class FileInUseError(CourseError):
    """The target file is held open by another program, so it cannot be replaced."""


def replace_atomically(partial, target, attempts: int = REPLACE_ATTEMPTS,
                       delay: float = REPLACE_DELAY_SECONDS) -> Path:
    """Rename ``partial`` over ``target`` (atomic), retrying on ``PermissionError``; return ``target``.

    After ``attempts`` failures the partial file is removed, ``target`` is left as it was, and a
    ``FileInUseError`` names the file and the fix. Other errors propagate unchanged.
    """
    partial, target = Path(partial), Path(target)
    for attempt in range(1, max(1, attempts) + 1):
        try:
            os.replace(partial, target)
            return target
        except PermissionError as error:
            if attempt >= attempts:
                _remove_quietly(partial)
                raise FileInUseError(
                    f"无法写入 {target}: 文件正被另一个程序占用 (file in use, {error}). "
                    f"解决 (fix): 关闭正在使用它的程序 (例如打开了该文件的笔记本、查看器, 或正在扫描它的杀毒软件), "
                    f"然后重新运行; {target} 保持原样 (left unchanged).") from error
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def write_text_atomically(target, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` through a partial file renamed over it: never a half-written file."""
    target = Path(target)
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    partial.write_text(text, encoding=encoding)
    return replace_atomically(partial, target)
