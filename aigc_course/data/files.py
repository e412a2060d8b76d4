"""Finding data files: the local data folder first, then the cache, then a verified download.

Lookup order for a file ``mnist/t10k-images-idx3-ubyte.gz``:

1. ``$AIGC_COURSE_DATA/mnist/t10k-images-idx3-ubyte.gz`` (a local mirror, e.g. ``../shared/data``);
2. ``$AIGC_COURSE_CACHE/mnist/...`` (default ``~/.cache/aigc_course``), filled by earlier downloads;
3. a download from the canonical URL into the cache, written atomically (``.part`` file,
   checksum verified, then renamed), so an interrupted or corrupt download leaves nothing behind.

``AIGC_COURSE_OFFLINE=1`` forbids step 3 (a clear error instead of a network attempt).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from aigc_course.errors import DataError

DATA_ENV = "AIGC_COURSE_DATA"
CACHE_ENV = "AIGC_COURSE_CACHE"
OFFLINE_ENV = "AIGC_COURSE_OFFLINE"
DOWNLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it lives under the data folder, where to download it, its checksums.

    ``checksums`` holds ``"sha256:<hex>"`` or ``"md5:<hex>"`` entries; a file is valid if any one
    matches (several entries exist where a known repackaging changed the bytes but not the content).
    """

    relpath: str
    url: str
    checksums: tuple[str, ...]

    @property
    def name(self) -> str:
        return Path(self.relpath).name


def data_dir() -> Path | None:
    """The local data folder named by ``AIGC_COURSE_DATA``, or None when unset."""
    value = os.environ.get(DATA_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """Where downloads are kept (``AIGC_COURSE_CACHE``, default ``~/.cache/aigc_course``)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "aigc_course"


def downloads_allowed() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip() not in {"1", "true", "yes"}


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_matches(path: Path, checksums: tuple[str, ...]) -> bool:
    """True if the file matches any of the expected ``algo:hex`` checksums."""
    computed: dict[str, str] = {}
    for expected in checksums:
        algorithm, _, hex_value = expected.partition(":")
        if algorithm not in computed:
            computed[algorithm] = file_digest(path, algorithm)
        if computed[algorithm] == hex_value.lower():
            return True
    return False


def _describe_expected(remote: RemoteFile) -> str:
    return " or ".join(remote.checksums)


def locate(remote: RemoteFile) -> Path | None:
    """Return a verified local copy (data folder, then cache), or None if there is none.

    A copy in the data folder with a wrong checksum is an error (it is the user's file); a bad
    copy in the cache is removed so that the next download replaces it.
    """
    local_root = data_dir()
    if local_root is not None:
        candidate = local_root / remote.relpath
        if candidate.is_file():
            if not checksum_matches(candidate, remote.checksums):
                raise DataError(
                    f"{candidate} has the wrong checksum (expected {_describe_expected(remote)}): "
                    f"the file is truncated, corrupt or a different version. Fix: replace it with a "
                    f"fresh copy from {remote.url}, or delete it so that it is downloaded again."
                )
            return candidate
    cached = cache_dir() / remote.relpath
    if cached.is_file():
        if checksum_matches(cached, remote.checksums):
            return cached
        cached.unlink()
    return None


def download(remote: RemoteFile) -> Path:
    """Download ``remote`` into the cache atomically and verify it; return the cached path."""
    target = cache_dir() / remote.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    try:
        request = urllib.request.Request(remote.url, headers={"User-Agent": "aigc-course"})
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            with open(partial, "wb") as handle:
                shutil.copyfileobj(response, handle, length=1 << 20)
        if not checksum_matches(partial, remote.checksums):
            raise DataError(
                f"the download of {remote.url} has the wrong checksum (expected "
                f"{_describe_expected(remote)}); nothing was saved. Fix: run again; if it keeps "
                f"failing, the file upstream changed: put a verified copy at "
                f"${DATA_ENV}/{remote.relpath}."
            )
        os.replace(partial, target)
        return target
    except (urllib.error.URLError, OSError) as error:
        where = data_dir()
        raise DataError(
            f"{remote.relpath} is not in the local data folder "
            f"({where if where else f'${DATA_ENV} is not set'}) nor in the cache ({cache_dir()}), "
            f"and downloading {remote.url} failed ({error}). Fix: connect to the internet, or set "
            f"{DATA_ENV} to a folder that holds {remote.relpath} (for example ../shared/data)."
        ) from error
    finally:
        if partial.exists():
            partial.unlink()


def fetch(remote: RemoteFile) -> Path:
    """Return a verified local path for ``remote``, downloading it if needed and allowed."""
    found = locate(remote)
    if found is not None:
        return found
    if not downloads_allowed():
        where = data_dir()
        raise DataError(
            f"{remote.relpath} was not found in the local data folder "
            f"({where if where else f'${DATA_ENV} is not set'}) nor in the cache ({cache_dir()}), "
            f"and downloads are off ({OFFLINE_ENV}=1). Fix: set {DATA_ENV} to a folder that holds "
            f"{remote.relpath} (for example ../shared/data), or unset {OFFLINE_ENV} to download "
            f"it from {remote.url}."
        )
    return download(remote)
