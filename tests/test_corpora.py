"""helpers.corpora against a small tarball in the chinese-poetry layout, served from 127.0.0.1.

No test touches the internet or a real copy of the corpus: ``CORPORA`` is
patched to point at a local ``http.server`` and to carry the fixture's own
size and SHA-512 integrity.
"""

import base64
import dataclasses
import hashlib
import io
import json
import os
import tarfile
import urllib.request

import pytest
from http_fixture import LocalServer, isolate_cache, leftovers

from helpers import MissingDataError, corpora
from helpers.corpora import DownloadError

TANG_0 = [{"author": "李白", "title": "靜夜思", "id": "a",
           "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
          {"author": "無名", "title": "", "id": "b", "paragraphs": ["乾坤日夜浮。"]},  # no title line
          {"author": "無名", "title": "空", "id": "c", "paragraphs": []}]             # no text: skipped
TANG_200 = [{"author": "杜甫", "title": "春望", "id": "d",
             "paragraphs": ["國破山河在，城春草木深。", "  "]}]                        # blank line dropped
TANG_1000 = [{"author": "王維", "title": "鹿柴", "id": "e", "paragraphs": ["空山不見人，但聞人語響。"]}]
SONG_0 = [{"author": "蘇軾", "title": "題西林壁", "id": "f",
           "paragraphs": ["橫看成嶺側成峰，遠近高低各不同。"]}]
CI_0 = [{"author": "李清照", "rhythmic": "如梦令",
         "paragraphs": ["昨夜雨疏风骤，浓睡不消残酒。", "乾坤著意。"]}]

MEMBERS = {  # archive order on purpose not numeric: 1000 before 200, as in the real tarball
    "package/LICENSE": b"MIT",
    "package/dist/quantangshi/poet.tang.0.json": TANG_0,
    "package/dist/quantangshi/poet.tang.1000.json": TANG_1000,
    "package/dist/quantangshi/poet.tang.200.json": TANG_200,
    "package/dist/quantangshi/poet.song.0.json": SONG_0,
    "package/dist/quantangshi/authors.tang.json": [{"name": "李白", "desc": "not a poem"}],
    "package/dist/quantangshi/error/poet.tang.0.json": [{"title": "錯", "paragraphs": ["重複的詩。"]}],
    "package/dist/quantangshi/唐诗三百首.json": [{"title": "選", "paragraphs": ["選本。"]}],
    "package/dist/songci/ci.song.0.json": CI_0,
    "package/dist/songci/ci.song.2019y.json": [{"rhythmic": "新", "paragraphs": ["不要。"]}],
}

TANG = ("靜夜思\n床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n\n"
        "乾坤日夜浮。\n\n"
        "春望\n國破山河在，城春草木深。\n\n"
        "鹿柴\n空山不見人，但聞人語響。")
SONG = "題西林壁\n橫看成嶺側成峰，遠近高低各不同。"
CI = "如梦令\n昨夜雨疏风骤，浓睡不消残酒。\n乾坤著意。"
EXPECTED = f"{TANG}\n\n{SONG}\n\n{CI}\n"


def _tgz(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            data = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


ARCHIVE = _tgz(MEMBERS)
NAME = "chinese-poetry-2.0.1.tgz"


def _patch(monkeypatch, **changes):
    corpus = dataclasses.replace(corpora.CORPORA[corpora.POETRY], **changes)
    monkeypatch.setitem(corpora.CORPORA, corpora.POETRY, corpus)
    return corpus


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = LocalServer()
    srv.files[f"/npm/{NAME}"] = ARCHIVE
    _patch(monkeypatch, urls=(f"{srv.url}/npm/{NAME}",), size=len(ARCHIVE), integrity=_integrity(ARCHIVE))
    isolate_cache(monkeypatch, tmp_path / "cache")
    yield srv
    srv.close()


def test_download_verifies_and_caches(server, tmp_path):
    path = corpora.download_chinese_poetry()
    assert path == tmp_path / "cache" / "chinese-poetry" / NAME and path.read_bytes() == ARCHIVE
    assert corpora.integrity_of(path) == _integrity(ARCHIVE)
    assert corpora.download_chinese_poetry() == path
    assert corpora.download_chinese_poetry(download=False) == path
    assert server.hits == {f"/npm/{NAME}": 1}
    assert leftovers(path.parent) == [NAME]


def test_loaded_text_is_exact_and_ordered_numerically(server, tmp_path):
    text = corpora.load_chinese_poetry()
    assert text == EXPECTED
    # the built text is cached next to the tarball; the second call does not open the tarball
    folder = tmp_path / "cache" / "chinese-poetry"
    assert leftovers(folder) == [f"chinese-poetry-2.0.1.tang+song+songci.v{corpora.PARSER_VERSION}.txt", NAME]
    (folder / NAME).unlink()
    assert corpora.load_chinese_poetry(download=False) == EXPECTED
    assert server.hits == {f"/npm/{NAME}": 1}


def test_collections_choose_and_order_the_text(server):
    assert corpora.load_chinese_poetry(collections=("songci", "tang")) == f"{CI}\n\n{TANG}\n"
    assert corpora.load_chinese_poetry(collections="song") == f"{SONG}\n"
    assert corpora.read_poems(corpora.download_chinese_poetry(), ("tang",)) == [TANG.split("\n\n")]


def test_simplified_converts_only_the_traditional_collections(server):
    text = corpora.load_chinese_poetry(simplified=True)
    assert text.startswith("静夜思\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n")
    assert "\n干坤日夜浮。\n" in text                       # character by character: 乾 has two simplified forms
    assert "国破山河在" in text and "横看成岭侧成峰，远近高低各不同。" in text
    assert text.endswith(f"\n\n{CI}\n")                     # the ci were simplified already: left alone
    assert len(text) == len(EXPECTED)                      # one character for one character
    assert corpora.to_simplified("壯麗") == "壮丽" and corpora.to_simplified("人民日报") == "人民日报"
    assert corpora.to_simplified("平治天下") == "平治天下"  # snownlp's word entries (平治 -> 奔驰) are not used
    assert corpora.load_chinese_poetry() == EXPECTED       # cached separately from the traditional text


def test_checksum_mismatch_raises_and_keeps_nothing(server, tmp_path, monkeypatch):
    _patch(monkeypatch, integrity=_integrity(b"something else"))
    with pytest.raises(DownloadError, match=r"checksum mismatch(.|\n)*Retry with `python -m helpers.corpora "
                                            r"chinese-poetry`"):
        corpora.load_chinese_poetry()
    assert leftovers(tmp_path / "cache" / "chinese-poetry") == []


def test_truncated_download_raises_and_keeps_nothing(server, tmp_path):
    server.truncate.add(f"/npm/{NAME}")
    with pytest.raises(DownloadError, match=NAME):
        corpora.load_chinese_poetry()
    assert leftovers(tmp_path / "cache" / "chinese-poetry") == []


def test_short_or_long_body_is_caught_by_the_byte_count(server, tmp_path, monkeypatch):
    class Body(io.BytesIO):  # a response without Content-Length: only the published size can tell
        headers = {}

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Body(ARCHIVE[:10]))
    with pytest.raises(DownloadError, match=f"after 10 of {len(ARCHIVE)} bytes"):
        corpora.download_chinese_poetry()
    too_long = ARCHIVE + b"x" * (2 << 20)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Body(too_long))
    with pytest.raises(DownloadError, match=f"more than the expected {len(ARCHIVE)} bytes"):
        corpora.download_chinese_poetry()
    assert leftovers(tmp_path / "cache" / "chinese-poetry") == []


def test_damaged_cache_file_is_downloaded_again(server):
    path = corpora.download_chinese_poetry()
    path.write_bytes(ARCHIVE[:-1])
    with pytest.raises(MissingDataError, match="damaged"):
        corpora.download_chinese_poetry(download=False)
    assert corpora.download_chinese_poetry() == path and path.read_bytes() == ARCHIVE
    assert server.hits[f"/npm/{NAME}"] == 2


def test_missing_data_without_download_names_the_command(server, tmp_path):
    with pytest.raises(MissingDataError, match=r"missing; download it with `python -m helpers.corpora "
                                               r"chinese-poetry`"):
        corpora.load_chinese_poetry(download=False)
    with pytest.raises(FileNotFoundError, match=r"--root .*elsewhere`"):
        corpora.load_chinese_poetry(root=tmp_path / "elsewhere", download=False)
    assert server.hits == {}


def test_404_then_second_url_and_retry_advice(server, tmp_path, monkeypatch):
    corpus = _patch(monkeypatch, urls=(f"{server.url}/missing/{NAME}", f"{server.url}/npm/{NAME}"))
    assert corpora.download_chinese_poetry().is_file()
    assert server.hits == {f"/missing/{NAME}": 1, f"/npm/{NAME}": 1}
    _patch(monkeypatch, urls=corpus.urls[:1])
    with pytest.raises(DownloadError) as info:
        corpora.download_chinese_poetry(root=tmp_path / "other")
    message = str(info.value)
    assert "404" in message and corpora.MIRROR_ENV_VAR in message and corpus.integrity in message
    assert f"Retry with `python -m helpers.corpora chinese-poetry --root {tmp_path / 'other'}`" in message
    assert leftovers(tmp_path / "other" / "chinese-poetry") == []


def test_mirror_argument_and_environment_variable(server, tmp_path, monkeypatch):
    server.files[f"/copy/{NAME}"] = ARCHIVE
    corpora.download_chinese_poetry(root=tmp_path / "a", mirror=f"{server.url}/copy/")
    assert server.hits == {f"/copy/{NAME}": 1}
    server.files[f"/m/chinese-poetry/{NAME}"] = ARCHIVE
    monkeypatch.setenv(corpora.MIRROR_ENV_VAR, f"{server.url}/m")
    corpora.download_chinese_poetry(root=tmp_path / "b")
    assert server.hits[f"/m/chinese-poetry/{NAME}"] == 1


def test_failed_cache_write_leaves_no_file(server, tmp_path, monkeypatch):
    archive = corpora.download_chinese_poetry()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpora.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        corpora.load_chinese_poetry()
    assert leftovers(archive.parent) == [NAME]


def test_unknown_or_repeated_collection_is_a_clear_error():
    for bad in (("tang", "yuan"), (), ("tang", "tang")):
        with pytest.raises(ValueError, match=r"collections=.*use one or more distinct names of \('tang', "
                                             r"'song', 'songci'\)"):
            corpora.load_chinese_poetry(collections=bad, download=False)


def test_wrong_archive_and_bad_json_are_reported(tmp_path):
    other = tmp_path / "other.tgz"
    other.write_bytes(_tgz({"package/dist/songci/ci.song.0.json": CI_0}))
    with pytest.raises(ValueError, match=r"no members for \['tang'\]: not the chinese-poetry"):
        corpora.read_poems(other, ("tang", "songci"))
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(_tgz({"package/dist/songci/ci.song.0.json": b"[{not json"}))
    with pytest.raises(ValueError, match=r"member package/dist/songci/ci.song.0.json is not valid UTF-8 JSON"):
        corpora.read_poems(broken, ("songci",))


def test_published_registry_entry():
    corpus = corpora.CORPORA["chinese-poetry"]
    assert corpus.size == 85_464_664 and corpus.licence.startswith("MIT")
    assert corpus.integrity.startswith("sha512-") and len(base64.b64decode(corpus.integrity[7:])) == 64
    assert all(url.startswith("https://") and url.endswith("/-/chinese-poetry-2.0.1.tgz") for url in corpus.urls)
    assert set(corpus.collections) == {"tang", "song", "songci"}


def test_command_line_writes_the_text(server, tmp_path, capsys):
    out = tmp_path / "data" / "poetry.txt"
    assert corpora.main(["chinese-poetry", "--out", str(out), "--root", str(tmp_path / "cli")]) == 0
    assert out.read_text(encoding="utf-8") == EXPECTED
    printed = capsys.readouterr().out
    assert "6 poems" in printed and f"ok  {out}" in printed
    assert corpora.main(["chinese-poetry", "--collections", "songci", "--simplified"]) == 0
    assert "1 poems" in capsys.readouterr().out and not os.path.exists("poetry.txt")


# --- issue 22: the cached text is versioned and re-verified -----------------------------------

def test_damaged_cached_text_is_rebuilt_from_the_verified_archive(server, tmp_path):
    """Item 9: the cached text used to be returned as it was, whatever it held."""
    assert corpora.load_chinese_poetry() == EXPECTED
    folder = tmp_path / "cache" / "chinese-poetry"
    (cached,) = [p for p in folder.iterdir() if p.suffix == ".txt"]
    assert f".v{corpora.PARSER_VERSION}." in cached.name
    cached.write_text(cached.read_text(encoding="utf-8").replace("明月", "明日"), encoding="utf-8")
    assert corpora.load_chinese_poetry() == EXPECTED           # checksum mismatch: rebuilt
    assert corpora.load_chinese_poetry() == EXPECTED
    cached.write_text("no header at all", encoding="utf-8")
    assert corpora.load_chinese_poetry() == EXPECTED
    assert server.hits == {f"/npm/{NAME}": 1}


def test_cached_text_of_another_archive_is_not_used(server, tmp_path, monkeypatch):
    assert corpora.load_chinese_poetry(collections="song") == f"{SONG}\n"
    other = _tgz({**MEMBERS, "package/dist/quantangshi/poet.song.0.json": [{"title": "新", "paragraphs": ["新詩。"]}]})
    server.files[f"/npm/{NAME}"] = other
    _patch(monkeypatch, integrity=_integrity(other), size=len(other))
    (tmp_path / "cache" / "chinese-poetry" / NAME).unlink()
    assert corpora.load_chinese_poetry(collections="song") == "新\n新詩。\n"
