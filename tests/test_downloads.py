"""helpers.downloads against small files written in the real formats and served from 127.0.0.1.

No test touches the internet: ``FILES`` is patched to point at a local
``http.server`` and to carry the fixtures' own MD5s.
"""

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from helpers import MissingDataError, downloads
from helpers.downloads import DownloadError, Remote


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _idx_gz(array: np.ndarray) -> bytes:
    """IDX bytes written by hand: 0, 0, type code 0x08 (uint8), ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _cifar_batch(images_nhwc: np.ndarray, labels) -> bytes:
    """A batch pickled like the original: rows of 1024 R, 1024 G, 1024 B; NumPy 1 module names."""
    rows = images_nhwc.transpose(0, 3, 1, 2).reshape(len(images_nhwc), -1)
    raw = pickle.dumps({"batch_label": "fixture", "labels": [int(v) for v in labels], "data": rows,
                        "filenames": [f"{i}.png" for i in range(len(labels))]}, protocol=2)
    return raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def _tar_gz(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Server:
    """Serves ``files[url_path] = bytes``; ``truncate`` paths send half the body after a full Content-Length."""

    def __init__(self):
        self.files, self.truncate, self.hits = {}, set(), {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in server.truncate else body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


RNG = np.random.default_rng(0)
MNIST = {split: (RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8), RNG.integers(0, 10, n))
         for split, n in (("train", 5), ("test", 3))}
CIFAR_TRAIN = [(RNG.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), RNG.integers(0, 10, 2)) for _ in range(5)]
CIFAR_TEST = (RNG.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), RNG.integers(0, 10, 3))


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = _Server()
    mnist_bytes = {}
    for split, (images, labels) in MNIST.items():
        prefix = "train" if split == "train" else "t10k"
        mnist_bytes[f"{split}_images"] = (f"{prefix}-images-idx3-ubyte.gz", _idx_gz(images))
        mnist_bytes[f"{split}_labels"] = (f"{prefix}-labels-idx1-ubyte.gz", _idx_gz(labels))
    cifar = {f"cifar-10-batches-py/data_batch_{i + 1}": _cifar_batch(*b) for i, b in enumerate(CIFAR_TRAIN)}
    cifar["cifar-10-batches-py/test_batch"] = _cifar_batch(*CIFAR_TEST)
    archive = _tar_gz(cifar)
    table = {}
    for dataset in ("mnist", "fashion-mnist"):
        table[dataset] = {}
        for key, (name, data) in mnist_bytes.items():
            srv.files[f"/{dataset}/{name}"] = data
            table[dataset][key] = Remote(name, _md5(data), (f"{srv.url}/{dataset}/",))
    srv.files["/cifar-10/cifar-10-python.tar.gz"] = archive
    table["cifar-10"] = {"archive": Remote("cifar-10-python.tar.gz", _md5(archive), (f"{srv.url}/cifar-10/",))}
    monkeypatch.setattr(downloads, "FILES", table)
    monkeypatch.delenv(downloads.MIRROR_ENV_VAR, raising=False)
    for var in ("no_proxy", "NO_PROXY"):  # a proxy configured on the machine must not see 127.0.0.1
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.setenv(downloads.DATA_ENV_VAR, str(tmp_path / "cache"))
    yield srv
    srv.close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("loader, dataset", [(downloads.load_mnist, "mnist"),
                                             (downloads.load_fashion_mnist, "fashion-mnist")])
def test_idx_round_trip(server, tmp_path, loader, dataset):
    for split, (images, labels) in MNIST.items():
        x, y = loader(split)
        assert x.dtype == np.uint8 and x.shape == (len(images), 28, 28)
        assert y.dtype == np.int64 and y.shape == (len(labels),)
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)
    assert _leftovers(tmp_path / "cache" / dataset) == sorted(
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])


def test_cifar_round_trip_channels_last(server):
    x, y = downloads.load_cifar10("train")
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, np.concatenate([b[0] for b in CIFAR_TRAIN]))
    np.testing.assert_array_equal(y, np.concatenate([b[1] for b in CIFAR_TRAIN]))
    x, y = downloads.load_cifar10("test")
    np.testing.assert_array_equal(x, CIFAR_TEST[0])
    assert y.dtype == np.int64 and y.tolist() == CIFAR_TEST[1].tolist()
    # the first 1024 values of a row are the red channel, row by row
    rows = pickle.loads(_cifar_batch(*CIFAR_TEST))["data"]
    np.testing.assert_array_equal(rows[0, :1024].reshape(32, 32), x[0, :, :, 0])


def test_cache_hit_does_not_download_again(server):
    downloads.load_mnist("test")
    hits = dict(server.hits)
    assert hits == {"/mnist/t10k-images-idx3-ubyte.gz": 1, "/mnist/t10k-labels-idx1-ubyte.gz": 1}
    downloads.load_mnist("test")
    downloads.load_mnist("test", download=False)
    assert server.hits == hits


def test_damaged_cache_file_is_downloaded_again(server, tmp_path):
    path = downloads.fetch("mnist", "test_labels")
    path.write_bytes(b"garbage")
    with pytest.raises(MissingDataError, match="damaged"):
        downloads.fetch("mnist", "test_labels", download=False)
    assert downloads.fetch("mnist", "test_labels") == path
    assert server.hits["/mnist/t10k-labels-idx1-ubyte.gz"] == 2
    assert downloads.md5sum(path) == downloads.FILES["mnist"]["test_labels"].md5


def test_checksum_mismatch_raises_and_keeps_nothing(server, tmp_path, monkeypatch):
    remote = downloads.FILES["mnist"]["train_labels"]
    monkeypatch.setitem(downloads.FILES["mnist"], "train_labels", Remote(remote.filename, "0" * 32, remote.urls))
    with pytest.raises(DownloadError, match=r"checksum mismatch(.|\n)*python -m helpers.downloads mnist"):
        downloads.fetch("mnist", "train_labels")
    assert _leftovers(tmp_path / "cache" / "mnist") == []


def test_truncated_download_raises_and_keeps_nothing(server, tmp_path):
    server.truncate.add("/mnist/t10k-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.gz"):
        downloads.load_mnist("test")
    assert "t10k-images-idx3-ubyte.gz" not in _leftovers(tmp_path / "cache" / "mnist")
    assert not [n for n in _leftovers(tmp_path / "cache" / "mnist") if n.endswith(".part")]


def test_short_body_without_exception_is_caught(server, tmp_path, monkeypatch):
    """A server that closes early without the client library noticing: the byte count catches it."""
    class Short(io.BytesIO):
        headers = {"Content-Length": "100"}

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(downloads.urllib.request, "urlopen", lambda url, timeout: Short(b"x" * 10))
    with pytest.raises(DownloadError, match="after 10 of 100 bytes"):
        downloads.fetch("mnist", "test_labels")
    assert _leftovers(tmp_path / "cache" / "mnist") == []


def test_404_raises_with_retry_advice_and_keeps_nothing(server, tmp_path):
    del server.files["/cifar-10/cifar-10-python.tar.gz"]
    with pytest.raises(DownloadError) as info:
        downloads.load_cifar10("test", root=tmp_path / "elsewhere")
    message = str(info.value)
    assert "404" in message and "Retry with `python -m helpers.downloads cifar-10 --root" in message
    assert downloads.MIRROR_ENV_VAR in message
    assert _leftovers(tmp_path / "elsewhere" / "cifar-10") == []


def test_second_url_is_tried_after_a_failure(server, monkeypatch):
    remote = downloads.FILES["mnist"]["test_labels"]
    urls = (f"{server.url}/missing/", *remote.urls)
    monkeypatch.setitem(downloads.FILES["mnist"], "test_labels", Remote(remote.filename, remote.md5, urls))
    assert downloads.fetch("mnist", "test_labels").is_file()
    assert server.hits["/missing/t10k-labels-idx1-ubyte.gz"] == 1


def test_mirror_argument_and_environment_variable(server, tmp_path, monkeypatch):
    server.files["/copy/t10k-labels-idx1-ubyte.gz"] = server.files["/mnist/t10k-labels-idx1-ubyte.gz"]
    downloads.fetch("mnist", "test_labels", root=tmp_path / "a", mirror=f"{server.url}/copy")
    assert server.hits == {"/copy/t10k-labels-idx1-ubyte.gz": 1}
    server.files["/m/mnist/t10k-labels-idx1-ubyte.gz"] = server.files["/mnist/t10k-labels-idx1-ubyte.gz"]
    monkeypatch.setenv(downloads.MIRROR_ENV_VAR, f"{server.url}/m/")
    downloads.fetch("mnist", "test_labels", root=tmp_path / "b")
    assert server.hits["/m/mnist/t10k-labels-idx1-ubyte.gz"] == 1


def test_missing_data_without_download_names_the_command(server, tmp_path):
    with pytest.raises(MissingDataError, match=r"missing; download it with `python -m helpers.downloads cifar-10`"):
        downloads.load_cifar10("train", download=False)
    assert server.hits == {}
    assert issubclass(MissingDataError, FileNotFoundError)


def test_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv(downloads.DATA_ENV_VAR, str(tmp_path))
    assert downloads.data_root() == tmp_path
    assert downloads.data_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv(downloads.DATA_ENV_VAR)
    assert downloads.data_root() == downloads.DEFAULT_ROOT.expanduser()
    assert str(downloads.data_root()).endswith(os.path.join(".cache", "llm-book"))


def test_published_checksum_table_is_complete():
    assert set(downloads.FILES) == {"mnist", "fashion-mnist", "cifar-10"}
    for files in downloads.FILES.values():
        for remote in files.values():
            assert len(remote.md5) == 32 and int(remote.md5, 16) >= 0
            assert remote.urls and all(u.endswith("/") for u in remote.urls)
    assert downloads.FILES["cifar-10"]["archive"].md5 == "c58f30108f718f92721af3b95e74349a"


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'mnsit'"):
        downloads.download("mnsit")
    with pytest.raises(ValueError, match="has no file 'images'"):
        downloads.fetch("mnist", "images")
    with pytest.raises(ValueError, match="split='val'"):
        downloads.load_mnist("val")


def test_read_idx_checks_magic_dimensions_and_length(tmp_path):
    good = tmp_path / "a.idx"
    arr = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    good.write_bytes(bytes([0, 0, 0x0C, 3]) + struct.pack(">III", 2, 3, 4) + arr.tobytes())
    out = downloads.read_idx(good, ndim=3)
    np.testing.assert_array_equal(out, arr)
    assert out.dtype == np.int32 and out.dtype.isnative
    with pytest.raises(ValueError, match="3-d IDX array, expected 1-d"):
        downloads.read_idx(good, ndim=1)
    bad = tmp_path / "b.idx"
    bad.write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(ValueError, match="bad magic number 1f8b0800"):
        downloads.read_idx(bad)
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match="bad magic number empty"):
        downloads.read_idx(bad)
    short = tmp_path / "c.idx.gz"
    short.write_bytes(gzip.compress(good.read_bytes()[:-5]))
    with pytest.raises(ValueError, match="truncated"):
        downloads.read_idx(short)
    broken = tmp_path / "d.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="cannot be read"):
        downloads.read_idx(broken)


def test_images_and_labels_must_agree(server, monkeypatch):
    """A labels file from another split is caught."""
    monkeypatch.setitem(downloads.FILES["mnist"], "test_labels", downloads.FILES["mnist"]["train_labels"])
    with pytest.raises(ValueError, match="3 images but 5 labels"):
        downloads.load_mnist("test")


def test_cifar_pickles_cannot_run_code(tmp_path, monkeypatch):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    archive = _tar_gz({"cifar-10-batches-py/test_batch": pickle.dumps({"data": Evil()}, protocol=2)})
    path = tmp_path / "cifar-10" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    path.write_bytes(archive)
    monkeypatch.setattr(downloads, "FILES", {"cifar-10": {"archive": Remote(path.name, _md5(archive), ())}})
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        downloads.load_cifar10("test", root=tmp_path)
    with pytest.raises(ValueError, match="no member 'cifar-10-batches-py/data_batch_1'"):
        downloads.load_cifar10("train", root=tmp_path)


def test_cifar_batch_shape_is_checked(tmp_path, monkeypatch):
    raw = pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, protocol=2)
    archive = _tar_gz({"cifar-10-batches-py/test_batch": raw})
    (tmp_path / "cifar-10").mkdir()
    (tmp_path / "cifar-10" / "cifar-10-python.tar.gz").write_bytes(archive)
    monkeypatch.setattr(downloads, "FILES", {"cifar-10": {"archive": Remote("cifar-10-python.tar.gz",
                                                                              _md5(archive), ())}})
    with pytest.raises(ValueError, match=r"data \(2, 100\)"):
        downloads.load_cifar10("test", root=tmp_path)


def test_command_line(server, tmp_path, capsys):
    assert downloads.main(["mnist", "--root", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == 4 and str(tmp_path / "cli" / "mnist") in out
