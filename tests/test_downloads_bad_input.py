"""Bad input to helpers.downloads raises an error naming the argument, before any file or URL is touched."""

import pytest

from helpers import downloads
from helpers.downloads import Hasher, Remote


def test_hasher_and_checksum_of_refuse_an_unknown_notation(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    with pytest.raises(ValueError, match="neither a hex MD5 nor an npm 'sha512-...' integrity"):
        Hasher("sha256-abc")
    with pytest.raises(TypeError, match="expected is a bytes; pass a str"):
        Hasher(b"0" * 32)
    with pytest.raises(ValueError, match="neither a hex MD5"):
        downloads.checksum_of(tmp_path / "f", "md5")


def test_md5sum_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        downloads.md5sum(tmp_path / "nope.gz")


def test_data_root_refuses_a_non_path():
    with pytest.raises(TypeError, match=r"root is a int; pass a folder path \(str or pathlib.Path\) or None"):
        downloads.data_root(3)


def test_fetch_file_refuses_a_dict_remote_and_a_single_url(tmp_path):
    remote = Remote("a.gz", "0" * 32, ())
    with pytest.raises(TypeError, match="remote is a dict; pass a helpers.downloads.Remote"):
        downloads.fetch_file(vars(remote), tmp_path, ["https://example.org/a.gz"], "cmd")
    with pytest.raises(TypeError, match="is one string; pass a list of URLs"):
        downloads.fetch_file(remote, tmp_path, "https://example.org/a.gz", "cmd")
    assert list(tmp_path.iterdir()) == []


def test_remove_stale_parts_refuses_a_bad_filename(tmp_path):
    with pytest.raises(TypeError, match="filename is a NoneType; pass a str"):
        downloads.remove_stale_parts(tmp_path, None)
    with pytest.raises(ValueError, match="filename='' must be a plain file name"):
        downloads.remove_stale_parts(tmp_path, "")


def test_load_fashion_mnist_refuses_an_unknown_split():
    with pytest.raises(ValueError, match="split='val': use 'train' or 'test'"):
        downloads.load_fashion_mnist("val")


def test_load_cifar10_refuses_an_unknown_split_and_source():
    with pytest.raises(ValueError, match="split='valid'"):
        downloads.load_cifar10("valid")
    with pytest.raises(ValueError, match="source='kaggle'"):
        downloads.load_cifar10("test", source="kaggle")


def test_main_refuses_an_unknown_dataset(capsys):
    with pytest.raises(SystemExit) as info:
        downloads.main(["mnsit"])
    assert info.value.code == 2 and "invalid choice: 'mnsit'" in capsys.readouterr().err
