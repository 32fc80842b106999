import os

import pytest

from helpers.atomic import atomic_path, write_text_atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_success_renames_a_complete_file(tmp_path):
    target = tmp_path / "sub" / "out.bin"                  # the folder is created
    with atomic_path(target, suffix=".part") as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.bin.") and tmp.name.endswith(".part")
        assert not target.exists()                          # nothing under the real name while writing
        tmp.write_bytes(b"abc")
    assert target.read_bytes() == b"abc" and _leftovers(target.parent) == []


def test_error_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_interrupt_is_cleaned_up_too(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert not target.exists() and os.listdir(tmp_path) == []


def test_writer_may_replace_the_temporary_file(tmp_path):
    # exporters that delete and recreate the file they are given still end up under the target name
    target = tmp_path / "m.onnx"
    with atomic_path(target) as tmp:
        tmp.unlink()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_write_text_atomic_keeps_newlines_and_unicode(tmp_path):
    path = write_text_atomic(tmp_path / "t.txt", "春眠不觉晓\r\n处处闻啼鸟\n")
    assert path.read_bytes() == "春眠不觉晓\r\n处处闻啼鸟\n".encode("utf-8") and _leftovers(tmp_path) == []
