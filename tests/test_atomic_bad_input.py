"""Bad input to helpers.atomic raises an error naming the argument and leaves no file or folder behind."""

import pytest

from helpers.atomic import atomic_path, write_text_atomic


def test_write_text_atomic_refuses_bytes_and_creates_nothing(tmp_path):
    with pytest.raises(TypeError, match=r"text is a bytes; pass a str \(decode bytes first"):
        write_text_atomic(tmp_path / "new" / "a.txt", b"abc")
    assert not (tmp_path / "new").exists()
    with pytest.raises(TypeError, match="path=None"):
        write_text_atomic(None, "abc")


def test_atomic_path_refuses_a_folder_and_a_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match="is a folder; pass the path of the file"):
        with atomic_path(tmp_path):
            pass
    with pytest.raises(ValueError, match="suffix='a/b'"):
        with atomic_path(tmp_path / "x.txt", suffix="a/b"):
            pass
    assert list(tmp_path.iterdir()) == []
