"""Bad input to helpers.corpora raises an error naming the argument, before any file or URL is touched."""

import pytest

from helpers import corpora


def test_to_simplified_refuses_bytes():
    with pytest.raises(TypeError, match="text is a bytes; pass a str"):
        corpora.to_simplified("壯".encode())


def test_read_poems_refuses_unknown_collections_before_opening_the_archive(tmp_path):
    missing = tmp_path / "nope.tgz"
    with pytest.raises(ValueError, match=r"collections=\('tang', 'ci'\): use one or more names of"):
        corpora.read_poems(missing, ("tang", "ci"))
    with pytest.raises(ValueError, match=r"collections=\(\)"):
        corpora.read_poems(missing, [])


def test_download_chinese_poetry_refuses_a_non_string_mirror(tmp_path):
    with pytest.raises(TypeError, match=r"mirror is a tuple; pass a base URL \(str\) or None"):
        corpora.download_chinese_poetry(tmp_path, mirror=("https://example.org",))
    with pytest.raises(TypeError, match="mirror is a tuple"):
        corpora.load_chinese_poetry(tmp_path, mirror=("https://example.org",))
    assert list(tmp_path.iterdir()) == []


def test_integrity_of_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        corpora.integrity_of(tmp_path / "nope.tgz")


def test_main_refuses_an_unknown_corpus_and_collection(capsys):
    with pytest.raises(SystemExit):
        corpora.main(["poetry"])
    with pytest.raises(SystemExit):
        corpora.main(["chinese-poetry", "--collections", "ci"])
    assert "invalid choice" in capsys.readouterr().err
