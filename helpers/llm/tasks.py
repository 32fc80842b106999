"""Instruction tasks whose answers a program can check, built offline from real material.

    train, test = build_tasks(("length", "pinyin"), n_train=1500, n_test=100, seed=0)
    train[0]        # TaskItem(task='length', prompt='“银行”有几个字？', answer='2', source='银行')
    conversation(train[0])   # [{'role': 'user', ...}, {'role': 'assistant', 'content': '2'}]
    check_disjoint(train, [i for items in test.values() for i in items])

Each task turns a *source item* (a word, a review, a pair of numbers) into a prompt and the one
correct answer, computed by a well-kept package or by arithmetic, never by hand:

- ``length``       “银行”有几个字？ → ``2`` (words of 2, 3 and 4 characters, a third each, so that
                   answering "2" every time scores 33 %, not the 80 % it would on common words)
- ``first_char``   “银行”的第一个字是什么？ → ``银``
- ``pinyin``       “银行”的拼音是什么？ → ``yín háng`` (``pypinyin``, which resolves 多音字 from its phrase dictionary)
- ``traditional``  “银行”的繁体字怎么写？ → ``銀行`` (``opencc``, simplified → traditional)
- ``sentiment``    这条评论是好评还是差评？ + a review of at most 40 characters → ``好评`` / ``差评`` (the review label)
- ``addition``     37+48等于多少？ → ``85`` (two-digit numbers)
- ``join``         用顿号连接这几个词：银行 学校 医院 → ``银行、学校、医院`` (a format instruction, IFEval style)
- ``count``        下面有几个词？银行 学校 医院 → ``3`` (2–6 words separated by spaces: counting words, which the
                   tokenizer keeps apart, against ``length``, counting characters, which it merges into tokens)

Words come from the frequency dictionary that ships with ``jieba`` (2–4 Chinese characters,
frequency ≥ 300, about 14,000 words; ≥ 50 for the length task), reviews from :func:`helpers.datasets.load_review_sentiment`.
The split is **by source item** and does not depend on the seed: a word, review or number pair
is held out when the first byte of its SHA-256 is below ``HELD_OUT_BYTE`` (about 10 %), so no
held-out word ever appears in a training prompt of any task, and a model trained with one seed
is evaluated on the same held-out items as one trained with another.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from functools import lru_cache

from .._validate import check_int, _describe_sequence as _what

HELD_OUT_BYTE = 26          # first SHA-256 byte < 26: 26/256 ≈ 10.2 % of sources are held out
MIN_WORD_FREQ = 300
LENGTH_MIN_FREQ = 50        # the length task needs more 4-character words: a lower threshold
MAX_REVIEW_CHARS = 40


@dataclass(frozen=True)
class TaskItem:
    """One verifiable instruction: ``prompt`` → ``answer``; ``source`` is what decides its split."""
    task: str
    prompt: str
    answer: str
    source: str


def is_held_out(source: str) -> bool:
    """Whether ``source`` belongs to the held-out split (a fixed function of the text, about 10 %)."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    return hashlib.sha256(source.encode("utf-8")).digest()[0] < HELD_OUT_BYTE


def _is_hanzi(text: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in text)


@lru_cache(maxsize=1)
def _dictionary() -> tuple[tuple[int, str], ...]:
    """``(-frequency, word)`` for jieba's words of 2–4 Chinese characters, most frequent first (read once)."""
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    found = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, freq = line.split()[:2]
            if 2 <= len(word) <= 4 and _is_hanzi(word):
                found.append((-int(freq), word))
    return tuple(sorted(found))


@lru_cache(maxsize=4)
def _dictionary_words(min_freq: int) -> tuple[str, ...]:
    return tuple(w for f, w in _dictionary() if -f >= min_freq)


def common_words() -> tuple[str, ...]:
    """Words of 2–4 Chinese characters with frequency ≥ ``MIN_WORD_FREQ`` in jieba's dictionary, most frequent first."""
    return _dictionary_words(MIN_WORD_FREQ)


def _balanced_by_length(words) -> list[str]:
    """Words of 2, 3 and 4 characters in turn, until one length runs out: each length is a third."""
    words = list(words)
    by_length = [[w for w in words if len(w) == n] for n in (2, 3, 4)]
    return [w for triple in zip(*by_length) for w in triple]


@lru_cache(maxsize=1)
def short_reviews() -> tuple[tuple[str, str], ...]:
    """``(review, label)`` for the deduplicated reviews of at most ``MAX_REVIEW_CHARS`` characters; label 好评/差评."""
    from ..datasets import load_review_sentiment

    texts, labels = load_review_sentiment()
    return tuple((t, "好评" if int(y) == 1 else "差评") for t, y in zip(texts, labels) if len(t) <= MAX_REVIEW_CHARS)


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("s2t")


def _pinyin(word: str) -> str:
    from pypinyin import Style, pinyin

    return " ".join(p[0] for p in pinyin(word, style=Style.TONE))


def _word_item(task: str, word: str) -> TaskItem:
    if task == "length":
        return TaskItem(task, f"“{word}”有几个字？", str(len(word)), word)
    if task == "first_char":
        return TaskItem(task, f"“{word}”的第一个字是什么？", word[0], word)
    if task == "pinyin":
        return TaskItem(task, f"“{word}”的拼音是什么？", _pinyin(word), word)
    return TaskItem(task, f"“{word}”的繁体字怎么写？", _converter().convert(word), word)


WORD_TASKS = ("length", "first_char", "pinyin", "traditional")
TASKS = WORD_TASKS + ("sentiment", "addition", "join", "count")
SYNTHETIC_ITEMS = {"train": 12000, "test": 1000}   # word lists made for the join and count tasks


def check_task(task) -> str:
    """``task`` if it names a task of :data:`TASKS`, else a ``ValueError`` listing them."""
    if task not in TASKS:
        raise ValueError(f"task={task!r} is not one of {', '.join(TASKS)}")
    return task


def task_items(task: str, split: str) -> list[TaskItem]:
    """Every item of ``task`` in ``split`` ("train" or "test"), in a fixed order (words by frequency)."""
    check_task(task)
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} must be 'train' or 'test'")
    want = split == "test"
    if task == "length":
        words = _balanced_by_length(w for w in _dictionary_words(LENGTH_MIN_FREQ) if is_held_out(w) == want)
        return [_word_item(task, w) for w in words]
    if task in WORD_TASKS:
        return [_word_item(task, w) for w in common_words() if is_held_out(w) == want]
    if task == "sentiment":
        return [TaskItem(task, f"这条评论是好评还是差评？\n{text}", label, text)
                for text, label in short_reviews() if is_held_out(text) == want]
    if task in ("join", "count"):
        words = [w for w in common_words() if is_held_out(w) == want]
        rng = random.Random(f"{task}:{split}")
        items = []
        for _ in range(SYNTHETIC_ITEMS[split]):
            if task == "join":
                triple = rng.sample(words, 3)
                items.append(TaskItem(task, "用顿号连接这几个词：" + " ".join(triple), "、".join(triple), "、".join(triple)))
            else:
                listed = rng.sample(words, rng.randint(2, 6))
                items.append(TaskItem(task, "下面有几个词？" + " ".join(listed), str(len(listed)), " ".join(listed)))
        return items
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    return [TaskItem(task, f"{a}+{b}等于多少？", str(a + b), f"{a}+{b}") for a, b in pairs
            if is_held_out(f"{a}+{b}") == want]


def build_tasks(tasks, n_train, n_test: int, seed: int = 0) -> tuple[list[TaskItem], dict[str, list[TaskItem]]]:
    """A shuffled training mixture of ``n_train`` items per task, and ``{task: n_test held-out items}``.

    ``n_train`` is one count for every task or a dict ``{task: count}`` naming every task.
    The items of each split are sampled without replacement with ``random.Random(seed)``; the
    held-out items are the same set for every ``n_train`` (they are drawn from the test split only).
    """
    if isinstance(tasks, str) or not hasattr(tasks, "__len__") or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty list of task names from {TASKS}, got {_what(tasks)}")
    for t in tasks:
        check_task(t)
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks={list(tasks)!r} names a task twice")
    if isinstance(n_train, dict):
        if set(n_train) != set(tasks):
            raise ValueError(f"n_train names the tasks {sorted(n_train)}; it must name exactly {sorted(tasks)}")
        counts = {t: check_int(f"n_train[{t!r}]", n, min=0) for t, n in n_train.items()}
    else:
        counts = {t: check_int("n_train", n_train, min=0) for t in tasks}
    check_int("n_test", n_test, min=1)
    check_int("seed", seed, min=0)
    pools = {t: (task_items(t, "train"), task_items(t, "test")) for t in tasks}
    for t, (tr, te) in pools.items():
        if counts[t] > len(tr) or n_test > len(te):
            raise ValueError(f"task {t!r} has {len(tr)} training and {len(te)} held-out items; "
                             f"n_train={counts[t]}, n_test={n_test} ask for more")
    train: list[TaskItem] = []
    test: dict[str, list[TaskItem]] = {}
    for t, (tr, te) in pools.items():
        rng = random.Random(f"{seed}:{t}")
        train += rng.sample(tr, counts[t])
        test[t] = random.Random(f"test:{t}").sample(te, n_test)
    random.Random(seed).shuffle(train)
    return train, test


def check_disjoint(train, test) -> None:
    """Raise if any held-out item shares its source or its prompt with a training item."""
    sources = {i.source for i in train}
    prompts = {i.prompt for i in train}
    for i in test:
        if i.source in sources or i.prompt in prompts:
            raise ValueError(f"held-out item {i.prompt!r} (source {i.source!r}) is also in the training data")


def conversation(item: TaskItem, system: str | None = None) -> list[dict]:
    """The item as a chat: optional system message, the user's prompt, the assistant's answer."""
    if not isinstance(item, TaskItem):
        raise TypeError(f"item must be a TaskItem (from task_items or build_tasks), got {type(item).__name__}")
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": item.answer}]
