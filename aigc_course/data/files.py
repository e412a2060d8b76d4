"""Finding data files: the local data folder first, then the cache, then a verified download.

Lookup order for a file ``mnist/t10k-images-idx3-ubyte.gz``:

1. ``$AIGC_COURSE_DATA/mnist/t10k-images-idx3-ubyte.gz`` (a local mirror, e.g. ``../shared/data``);
2. ``$AIGC_COURSE_CACHE/mnist/...`` (default ``~/.cache/aigc_course``), filled by earlier downloads;
3. a download into the cache, written atomically (``.part`` file, checksum verified, then renamed),
   so an interrupted or corrupt download leaves nothing behind. The file comes from its canonical
   URL, or from ``$AIGC_COURSE_MIRROR/mnist/t10k-images-idx3-ubyte.gz`` when a mirror is set (a web
   server holding a copy of a data folder, e.g. ``python -m http.server`` run inside one).

``AIGC_COURSE_OFFLINE=1`` forbids step 3 (a clear error instead of a network attempt).

The download code is a few lines over ``urllib`` rather than a fetcher such as ``pooch``: files here
may match one of several checksums (Debian's recompressed Fashion-MNIST), a mirror may hold only part
of a data set (MNIST's test split), and the data folder comes before the cache; each of these would
need a wrapper around the library's own lookup.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from aigc_course.atomic import replace_atomically
from aigc_course.errors import CorruptDataError, DataError

DATA_ENV = "AIGC_COURSE_DATA"
CACHE_ENV = "AIGC_COURSE_CACHE"
OFFLINE_ENV = "AIGC_COURSE_OFFLINE"
MIRROR_ENV = "AIGC_COURSE_MIRROR"
DOWNLOAD_TIMEOUT_SECONDS = 60
CHUNK_BYTES = 1 << 16
LARGE_FILE_BYTES = 5_000_000  # off a terminal, a file this large reports every quarter; a smaller one when done


class NotOnMirror(DataError):
    """The mirror answered, but does not hold this file (HTTP 404): it holds only part of a data set."""


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


def mirror_url() -> str | None:
    """The base URL named by ``AIGC_COURSE_MIRROR`` (no trailing slash), or None when unset."""
    value = os.environ.get(MIRROR_ENV, "").strip().rstrip("/")
    if value and urllib.parse.urlsplit(value).scheme not in ("http", "https", "file"):
        raise DataError(f"{MIRROR_ENV}={value} is not a web address (http://HOST:PORT). Fix: give the mirror's "
                        f"address, e.g. http://192.168.1.10:8000; for a folder on this machine set "
                        f"{DATA_ENV}={value} instead.")
    return value or None


def source_url(remote: RemoteFile) -> str:
    """Where ``remote`` is downloaded from: the mirror's copy when a mirror is set, else its canonical URL."""
    mirror = mirror_url()
    return f"{mirror}/{urllib.parse.quote(remote.relpath)}" if mirror else remote.url


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
                raise CorruptDataError(
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


class _Progress:
    """A one-line progress bar on stderr: redrawn in place on a terminal; otherwise (a log, a notebook) a line
    when the file is done, and a line per quarter for large files."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total, self.done = label, total, 0
        self.interactive = sys.stderr.isatty()
        self.next_quarter = 1
        self.started = time.perf_counter()

    def update(self, count: int) -> None:
        self.done += count
        if not self.total:
            return
        fraction = min(self.done / self.total, 1.0)
        if self.interactive:
            bar = "#" * int(fraction * 30)
            print(f"\r下载 {self.label} [{bar:<30}] {fraction:4.0%} {self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB",
                  end="", file=sys.stderr, flush=True)
        elif fraction >= self.next_quarter / 4 and (fraction == 1.0 or self.total >= LARGE_FILE_BYTES):
            print(f"下载 {self.label}: {fraction:.0%} ({self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB)",
                  file=sys.stderr, flush=True)
            self.next_quarter = int(fraction * 4) + 1

    def close(self) -> None:
        if self.interactive and self.total:
            print(f"  {time.perf_counter() - self.started:.1f} s", file=sys.stderr, flush=True)


def download(remote: RemoteFile) -> Path:
    """Download ``remote`` (from the mirror when one is set) into the cache atomically; return the path."""
    url = source_url(remote)
    target = cache_dir() / remote.relpath
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(partial, "wb")
    except OSError as error:
        raise _cache_unwritable(target, error) from error
    try:
        with handle:
            request = urllib.request.Request(url, headers={"User-Agent": "aigc-course"})
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                length = response.headers.get("Content-Length")
                progress = _Progress(remote.relpath, int(length) if length and length.isdigit() else None)
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    try:
                        handle.write(chunk)
                    except OSError as error:  # a full disk: not a network problem
                        raise _cache_unwritable(target, error) from error
                    progress.update(len(chunk))
                progress.close()
        if not checksum_matches(partial, remote.checksums):
            raise DataError(
                f"the download of {url} has the wrong checksum (expected "
                f"{_describe_expected(remote)}); nothing was saved. Fix: run again; if it keeps "
                f"failing, the file {'on the mirror' if mirror_url() else 'upstream'} changed: put a "
                f"verified copy at ${DATA_ENV}/{remote.relpath}."
            )
        replace_atomically(partial, target)
        return target
    except urllib.error.HTTPError as error:
        if mirror_url() and error.code == 404:
            raise NotOnMirror(f"the mirror {mirror_url()} does not hold {remote.relpath} ({url}: HTTP 404)") from error
        raise _download_failed(remote, url, error) from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise _download_failed(remote, url, error) from error
    finally:
        if partial.exists():
            partial.unlink()


def _not_here(remote: RemoteFile) -> str:
    where = data_dir()
    return (f"{remote.relpath} was not found in the local data folder "
            f"({where if where else f'${DATA_ENV} is not set'}) nor in the cache ({cache_dir()})")


def _cache_unwritable(target: Path, error: OSError) -> DataError:
    return DataError(f"cannot write {target} into the download cache ({error}). Fix: free some disk space, or set "
                     f"{CACHE_ENV} to a folder you can write to.")


def _download_failed(remote: RemoteFile, url: str, error: Exception) -> DataError:
    if mirror_url():
        return DataError(
            f"downloading {url} from the mirror {MIRROR_ENV}={mirror_url()} failed ({error}). Fix: check that "
            f"the mirror is running and reachable (e.g. `python -m http.server` inside a data folder), "
            f"unset {MIRROR_ENV} to use the canonical host, or set {DATA_ENV} to a local copy of the data folder.")
    return DataError(
        f"{_not_here(remote)}, and downloading {url} failed ({error}). Fix: connect to the internet, set {MIRROR_ENV} to a "
        f"mirror of the data folder, or set {DATA_ENV} to a folder that holds {remote.relpath} "
        f"(for example ../shared/data).")


def fetch(remote: RemoteFile) -> Path:
    """Return a verified local path for ``remote``, downloading it if needed and allowed."""
    found = locate(remote)
    if found is not None:
        return found
    if not downloads_allowed():
        raise DataError(
            f"{_not_here(remote)}, and downloads are off ({OFFLINE_ENV}=1). Fix: set {DATA_ENV} to a folder that holds "
            f"{remote.relpath} (for example ../shared/data), or unset {OFFLINE_ENV} to download "
            f"it from {source_url(remote)}."
        )
    return download(remote)
