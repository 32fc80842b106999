"""helpers.llm.tasks: every answer checked against an independent computation; the split never leaks."""

import hashlib

import pytest

from helpers.llm import tasks as T


def test_word_list_is_common_chinese_words_most_frequent_first():
    words = T.common_words()
    assert 10_000 < len(words) < 20_000
    assert all(2 <= len(w) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in w) for w in words)
    assert len(set(words)) == len(words)
    assert words.index("我们") < 50 and "中国" in words[:200]


def test_held_out_is_a_fixed_tenth_of_the_sources():
    words = T.common_words()
    share = sum(map(T.is_held_out, words)) / len(words)
    assert abs(share - 26 / 256) < 0.01
    assert T.is_held_out("中国") == (hashlib.sha256("中国".encode()).digest()[0] < 26)
    with pytest.raises(TypeError, match="source must be a str"):
        T.is_held_out(3)


@pytest.mark.parametrize("task", T.TASKS)
def test_splits_are_disjoint_and_stable(task):
    train, test = T.task_items(task, "train"), T.task_items(task, "test")
    assert train and test and len(test) < len(train)
    assert not {i.source for i in train} & {i.source for i in test}
    assert T.task_items(task, "test") == test                   # deterministic
    assert all(i.task == task for i in train + test)


def test_answers_match_an_independent_computation():
    import opencc
    from pypinyin import Style, lazy_pinyin

    cc = opencc.OpenCC("s2t")
    lengths = T.task_items("length", "test")
    assert len(lengths) > 1000 and [len(i.source) for i in lengths[:6]] == [2, 3, 4, 2, 3, 4]
    for item in lengths:
        assert item.answer == str(len(item.source)) and item.source in item.prompt
    for item in T.task_items("first_char", "test")[:200]:
        assert item.answer == item.source[0]
    assert T._word_item("pinyin", "银行").answer == "yín háng"      # 多音字 resolved by the phrase
    for item in T.task_items("pinyin", "test")[:200]:
        assert item.answer == " ".join(lazy_pinyin(item.source, style=Style.TONE))
    assert T._word_item("traditional", "银行").answer == "銀行"
    for item in T.task_items("traditional", "test")[:200]:
        assert item.answer == cc.convert(item.source)
    for item in T.task_items("addition", "test"):
        a, b = item.prompt.removesuffix("等于多少？").split("+")
        assert int(item.answer) == int(a) + int(b) and 10 <= int(a) <= 99 and 10 <= int(b) <= 99
    for item in T.task_items("join", "test")[:200]:
        words = item.prompt.removeprefix("用顿号连接这几个词：").split(" ")
        assert len(words) == 3 and item.answer == "、".join(words)
        assert not any(T.is_held_out(w) is False for w in words)    # held-out triples use held-out words only
    counts = T.task_items("count", "test")
    for item in counts:
        words = item.prompt.removeprefix("下面有几个词？").split(" ")
        assert item.answer == str(len(words)) and " ".join(words) == item.source
        assert all(T.is_held_out(w) for w in words) and len(set(words)) == len(words)
    answers = [i.answer for i in counts]
    assert {a: answers.count(a) for a in "23456"} == pytest.approx({a: 200 for a in "23456"}, abs=40)


def test_synthetic_tasks_keep_their_first_items_when_more_are_made():
    # join's first 4,000 training triples and its 1,000 held-out ones are those of the first chat model
    join_train, join_test = T.task_items("join", "train"), T.task_items("join", "test")
    assert len(join_train) == T.SYNTHETIC_ITEMS["train"] and len(join_test) == T.SYNTHETIC_ITEMS["test"] == 1000
    assert join_train[0].answer == "快乐、风格、著名" and join_train[3999].answer == "潮水、周六、庄严"
    assert join_test[0].answer == "腐朽、出现、眼看"


def test_sentiment_labels_are_the_dataset_labels():
    from helpers.datasets import load_review_sentiment

    texts, labels = load_review_sentiment()
    truth = {t: ("好评" if int(y) == 1 else "差评") for t, y in zip(texts, labels)}
    items = T.task_items("sentiment", "train") + T.task_items("sentiment", "test")
    assert len(items) == len(T.short_reviews()) > 5000
    for item in items:
        assert item.answer == truth[item.source] and len(item.source) <= T.MAX_REVIEW_CHARS
        assert item.prompt.endswith(item.source)


def test_build_tasks_counts_mixture_and_seed():
    train, test = T.build_tasks(("length", "addition", "join"), n_train=50, n_test=20, seed=3)
    assert len(train) == 150 and sorted(test) == ["addition", "join", "length"]
    assert all(len(v) == 20 for v in test.values())
    assert {i.task for i in train[:30]} == {"length", "addition", "join"}   # shuffled, not in blocks
    T.check_disjoint(train, [i for v in test.values() for i in v])
    again, test2 = T.build_tasks(("length", "addition", "join"), n_train=50, n_test=20, seed=3)
    assert again == train and test2 == test
    other, test3 = T.build_tasks(("length", "addition", "join"), n_train=50, n_test=20, seed=4)
    assert other != train and test3 == test                 # the held-out set does not depend on the seed
    more, test4 = T.build_tasks(("length", "addition", "join"), n_train=200, n_test=20, seed=3)
    assert test4 == test


def test_build_tasks_takes_a_count_per_task():
    train, test = T.build_tasks(("length", "count"), n_train={"length": 30, "count": 10}, n_test=5, seed=1)
    assert sum(i.task == "length" for i in train) == 30 and sum(i.task == "count" for i in train) == 10
    same, test2 = T.build_tasks(("length", "count"), n_train=30, n_test=5, seed=1)
    assert {i for i in same if i.task == "length"} == {i for i in train if i.task == "length"} and test2 == test


def test_no_held_out_word_appears_in_any_training_prompt():
    train, test = T.build_tasks(T.TASKS, n_train=300, n_test=50)
    held = {i.source for v in test.values() for i in v if i.task in T.WORD_TASKS}
    for item in train:
        assert not any(f"“{w}”" in item.prompt for w in held)


def test_check_disjoint_names_the_leaked_item():
    item = T.task_items("length", "train")[0]
    with pytest.raises(ValueError, match="also in the training data"):
        T.check_disjoint([item], [item])
    same_prompt = T.TaskItem("length", item.prompt, item.answer, "another source")
    with pytest.raises(ValueError, match=item.source):
        T.check_disjoint([item], [T.TaskItem("length", "x", "1", item.source)])
    with pytest.raises(ValueError, match="also in the training data"):
        T.check_disjoint([item], [same_prompt])


def test_conversation_roles():
    item = T.TaskItem("length", "“银行”有几个字？", "2", "银行")
    assert T.conversation(item) == [{"role": "user", "content": item.prompt},
                                    {"role": "assistant", "content": "2"}]
    assert T.conversation(item, system="你是助手。")[0] == {"role": "system", "content": "你是助手。"}
    with pytest.raises(TypeError, match="item must be a TaskItem"):
        T.conversation(("“银行”有几个字？", "2"))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(tasks=("spelling",), n_train=1, n_test=1), ValueError, "task='spelling' is not one of"),
    (dict(tasks="length", n_train=1, n_test=1), ValueError, "non-empty list of task names"),
    (dict(tasks=(), n_train=1, n_test=1), ValueError, "an empty tuple"),
    (dict(tasks=("length", "length"), n_train=1, n_test=1), ValueError, "names a task twice"),
    (dict(tasks=("length",), n_train=-1, n_test=1), ValueError, "n_train=-1 must be >= 0"),
    (dict(tasks=("length",), n_train=1, n_test=0), ValueError, "n_test=0 must be >= 1"),
    (dict(tasks=("addition",), n_train=10, n_test=5000), ValueError, "ask for more"),
    (dict(tasks=("length",), n_train=1, n_test=1, seed=1.5), TypeError, "seed=1.5"),
    (dict(tasks=("length", "count"), n_train={"length": 3}, n_test=1), ValueError, "must name exactly"),
    (dict(tasks=("length",), n_train={"length": -2}, n_test=1), ValueError, r"n_train\['length'\]=-2 must be >= 0"),
    (dict(tasks=("length",), n_train={"length": 2.0}, n_test=1), TypeError, r"n_train\['length'\]=2.0"),
    (dict(tasks=("sentiment",), n_train={"sentiment": 10 ** 6}, n_test=1), ValueError, "n_train=1000000"),
])
def test_build_tasks_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        T.build_tasks(**kwargs)


def test_task_items_errors():
    with pytest.raises(ValueError, match="split='valid' must be 'train' or 'test'"):
        T.task_items("length", "valid")
    with pytest.raises(ValueError, match="task='poem'"):
        T.task_items("poem", "train")
    with pytest.raises(ValueError, match="is not one of length, first_char"):
        T.check_task("Length")
    assert T.check_task("join") == "join"
