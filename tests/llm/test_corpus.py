"""The pretraining corpus: cleaning, deduplication, the split by document."""

import pytest

from helpers.llm import corpus as C


def test_clean_line_converts_fullwidth_ascii_and_keeps_chinese_punctuation():
    assert C.clean_line("１９９８年　ＡＢＣ ｘｙｚ，好！\t") == "1998年ABCxyz，好！"
    assert C.clean_line("\u200b中\x00文\u3000") == "中文"


def test_headlines_are_short_lines_without_a_sentence_end():
    assert C.is_headline("迈向充满希望的新世纪")
    assert not C.is_headline("今天天气很好。")
    assert not C.is_headline("长" * 31)
    assert not C.is_headline("")


def test_split_depends_only_on_each_document_and_its_fraction():
    docs = [f"文档{i}" for i in range(2000)]
    train, held = C.split_documents(docs, 0.1)
    assert sorted(train + held) == sorted(docs) and not set(train) & set(held)
    assert 150 < len(held) < 250                               # about 10 %
    # the same document lands on the same side whatever its neighbours
    train2, held2 = C.split_documents(list(reversed(docs[:500])), 0.1)
    assert set(held2) == set(held) & set(docs[:500])
    assert C.split_documents(docs, 0.0) == (docs, [])
    assert C.split_documents(docs, 1.0)[0] == []


def test_peoples_daily_documents_start_at_headlines_and_cover_the_text():
    from helpers.datasets import load_peoples_daily

    docs = C.peoples_daily_documents()
    assert len(docs) > 2000
    assert docs[0][0].startswith("迈向充满希望的新世纪")
    raw = sum(len(C.clean_line(line)) for line in load_peoples_daily().splitlines())
    assert sum(len(line) for d in docs for line in d) == raw      # nothing lost, nothing added
    assert all(C.is_headline(d[0]) for d in docs[1:])


def test_build_corpus_deduplicates_lines_and_held_out_never_overlaps_training():
    c = C.build_corpus(("peoples_daily", "reviews"), held_out=0.05)
    for s in ("peoples_daily", "reviews"):
        train_lines = {line for d in c.train[s] for line in d.split("\n")}
        held_lines = [line for d in c.held_out[s] for line in d.split("\n")]
        assert held_lines and not train_lines.intersection(held_lines)
        assert c.stats[s]["train_chars"] == sum(map(len, c.train[s]))
    all_lines = [line for part in (c.train, c.held_out) for docs in part.values() for d in docs
                 for line in d.split("\n")]
    assert len(all_lines) == len(set(all_lines))                 # every line once across sources
    assert c.text("held_out", "reviews") == "\n".join(c.held_out["reviews"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="sources"):
        C.build_corpus("peoples_daily")
    with pytest.raises(ValueError, match="sources"):
        C.build_corpus(("peoples_daily", "news"))
    with pytest.raises(ValueError, match="twice"):
        C.build_corpus(("reviews", "reviews"))
    with pytest.raises(ValueError, match="held_out"):
        C.build_corpus(("reviews",), held_out=1.5)
    c = C.build_corpus(("reviews",))
    with pytest.raises(ValueError, match="part"):
        c.text("test", "reviews")
    with pytest.raises(ValueError, match="source"):
        c.text("train", "poetry")


def test_max_poems_and_docs_are_checked_before_any_work():
    with pytest.raises(ValueError, match="max_poems"):
        C.build_corpus(("peoples_daily", "poetry"), max_poems=0)
    with pytest.raises(TypeError, match="docs is one str"):
        C.split_documents("一篇文档", 0.1)
