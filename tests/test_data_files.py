"""The file layer: local folder, cache, verified atomic downloads, and clear errors for bad files."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from aigc_course.data import files
from aigc_course.data.images import read_idx
from aigc_course.data import load_dataset
from aigc_course.errors import DataError

PAYLOAD = b"hello, data\n" * 100


def remote_for(payload: bytes, url: str = "http://127.0.0.1:9/never") -> files.RemoteFile:
    return files.RemoteFile("demo/file.txt", url, (f"sha256:{hashlib.sha256(payload).hexdigest()}",))


@pytest.fixture
def folders(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("AIGC_COURSE_DATA", str(data))
    monkeypatch.setenv("AIGC_COURSE_CACHE", str(cache))
    return data, cache


@pytest.fixture
def server():
    """A tiny HTTP server on 127.0.0.1 serving whatever ``server.files`` maps a path to."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = Handler.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    Handler.files = {}
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.files = Handler.files
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()


def test_local_folder_is_used_first(folders):
    data, _ = folders
    (data / "demo").mkdir(parents=True)
    (data / "demo" / "file.txt").write_bytes(PAYLOAD)
    assert files.fetch(remote_for(PAYLOAD)) == (data / "demo" / "file.txt").resolve()


def test_wrong_checksum_in_local_folder_names_file_and_fix(folders):
    data, _ = folders
    (data / "demo").mkdir(parents=True)
    (data / "demo" / "file.txt").write_bytes(PAYLOAD[:-5])  # truncated copy
    with pytest.raises(DataError, match=r"file\.txt has the wrong checksum.*Fix:"):
        files.fetch(remote_for(PAYLOAD))


def test_missing_file_offline_is_a_clear_error(folders, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "1")
    with pytest.raises(DataError, match=r"demo/file\.txt was not found.*AIGC_COURSE_DATA"):
        files.fetch(remote_for(PAYLOAD))


def test_download_is_verified_and_cached(folders, server, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    server.files["/file.txt"] = PAYLOAD
    path = files.fetch(remote_for(PAYLOAD, server.url + "/file.txt"))
    assert path.read_bytes() == PAYLOAD
    assert path.parent == folders[1] / "demo"
    server.files.clear()  # the second fetch must come from the cache
    assert files.fetch(remote_for(PAYLOAD, server.url + "/file.txt")) == path


def test_corrupt_download_leaves_nothing_behind(folders, server, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    server.files["/file.txt"] = PAYLOAD[:100]  # truncated upstream
    with pytest.raises(DataError, match="wrong checksum.*nothing was saved"):
        files.fetch(remote_for(PAYLOAD, server.url + "/file.txt"))
    cache = folders[1]
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_failed_download_names_url_and_fix(folders, server, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    with pytest.raises(DataError, match=r"downloading http://127\.0\.0\.1.*failed.*Fix:"):
        files.fetch(remote_for(PAYLOAD, server.url + "/missing.txt"))


def test_corrupt_cache_entry_is_replaced(folders, server, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    cached = folders[1] / "demo" / "file.txt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage")
    server.files["/file.txt"] = PAYLOAD
    assert files.fetch(remote_for(PAYLOAD, server.url + "/file.txt")).read_bytes() == PAYLOAD


def test_md5_or_sha256_alternatives(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert files.checksum_matches(path, ("sha256:" + "0" * 64, "md5:" + md5))
    assert not files.checksum_matches(path, ("md5:" + "0" * 32,))


def write_idx(path, array, header_shape=None):
    shape = header_shape or array.shape
    header = bytes([0, 0, 8, len(shape)]) + b"".join(int(n).to_bytes(4, "big") for n in shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype("uint8").tobytes())


def test_read_idx_round_trip_and_corruption(tmp_path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    write_idx(tmp_path / "ok.gz", images)
    assert np.array_equal(read_idx(tmp_path / "ok.gz"), images)
    write_idx(tmp_path / "short.gz", images, header_shape=(3, 28, 28))
    with pytest.raises(DataError, match="short.gz holds .* bytes .* promises"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "broken.gz").write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0\0\0\x05abcde")[:-12])
    with pytest.raises(DataError, match="broken.gz is not a readable gzip file"):
        read_idx(tmp_path / "broken.gz")


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar'.*fashion_mnist.*mnist.*shakespeare.*tang_poems"):
        load_dataset("cifar")


def test_an_unwritable_cache_is_named_with_its_fix(folders, server, monkeypatch):
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    blocker = folders[1]
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the cache folder should be")
    server.files["/file.txt"] = PAYLOAD
    with pytest.raises(DataError, match=r"cannot write .*file\.txt into the download cache.*AIGC_COURSE_CACHE"):
        files.fetch(remote_for(PAYLOAD, server.url + "/file.txt"))


def test_a_corrupt_file_in_the_data_folder_fails_the_tests_that_need_it(folders, monkeypatch):
    """Skipping would hide a broken data folder: the test helper fails instead, with the file and the fix."""
    import pytest as pytest_module

    from aigc_course import testing
    from aigc_course.data.images import MNIST_FILES

    data, _ = folders
    broken = data / MNIST_FILES["test_images"].relpath
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not MNIST")
    monkeypatch.setattr(testing, "_availability", {})
    with pytest_module.raises(pytest_module.fail.Exception, match=r"mnist has a bad file: .*wrong checksum.*Fix:"):
        testing.require_datasets("mnist")
