"""helpers.llm.chat: ChatML ids and training mask equal transformers' apply_chat_template; bad input."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.llm.bpe import ByteBPE
from helpers.llm.chat import (CHAT_TEMPLATE, IM_END, IM_START, check_messages, decode_reply, encode_chat,
                              format_chat, prompt_ids)
from helpers.llm.book_model import BOOK_MODEL_DIR

TOK = ByteBPE.load(BOOK_MODEL_DIR / "bpe.json")

CONVERSATION = [
    {"role": "system", "content": "你是一个乐于助人的助手。"},
    {"role": "user", "content": "“银行”的拼音是什么？"},
    {"role": "assistant", "content": "yin2 hang2"},
    {"role": "user", "content": "再说一遍, ok?"},
    {"role": "assistant", "content": "好的：yin2 hang2。\n"},
]


@pytest.fixture(scope="module")
def hf_tokenizer():
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=TOK.to_tokenizers())


def test_format_is_chatml():
    text = format_chat(CONVERSATION[1:3])
    assert text == "<|im_start|>user\n“银行”的拼音是什么？<|im_end|>\n<|im_start|>assistant\nyin2 hang2<|im_end|>\n"
    assert format_chat(CONVERSATION[:2], add_generation_prompt=True).endswith("？<|im_end|>\n<|im_start|>assistant\n")


def test_ids_and_mask_equal_transformers_apply_chat_template(hf_tokenizer):
    ids, mask = encode_chat(TOK, CONVERSATION)
    ref = hf_tokenizer.apply_chat_template(CONVERSATION, chat_template=CHAT_TEMPLATE, tokenize=True,
                                           return_dict=True, return_assistant_tokens_mask=True)
    assert ids == ref["input_ids"]
    assert [int(m) for m in mask] == ref["assistant_masks"]
    # the mask covers exactly the two replies and their closing markers
    trained = [i for i, m in zip(ids, mask) if m]
    assert TOK.decode(trained) == "yin2 hang2<|im_end|>好的：yin2 hang2。\n<|im_end|>"
    text = hf_tokenizer.apply_chat_template(CONVERSATION[:2], chat_template=CHAT_TEMPLATE, tokenize=False,
                                            add_generation_prompt=True)
    assert text == format_chat(CONVERSATION[:2], add_generation_prompt=True)
    assert prompt_ids(TOK, CONVERSATION[1]["content"], system=CONVERSATION[0]["content"]) == TOK.encode(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
                .filter(lambda s: not s[0].isspace() and "<|" not in s), min_size=2, max_size=4))
def test_piecewise_encoding_equals_encoding_the_whole_text(contents):
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(contents)]
    ids, mask = encode_chat(TOK, messages)
    assert ids == TOK.encode(format_chat(messages))
    assert len(mask) == len(ids)
    replies = [c for i, c in enumerate(contents) if i % 2 == 1]
    assert TOK.decode([i for i, m in zip(ids, mask) if m]) == "".join(r + IM_END for r in replies)


def test_decode_reply_stops_at_the_end_marker():
    ids = TOK.encode("你好") + [TOK.special_tokens[IM_END]] + TOK.encode("多余")
    assert decode_reply(TOK, ids) == "你好"
    assert decode_reply(TOK, TOK.encode("没有结束")) == "没有结束"


@pytest.mark.parametrize("messages, error, words", [
    ("你好", TypeError, "non-empty list"),
    ([], TypeError, "non-empty list"),
    ([{"role": "user"}], ValueError, "exactly the keys"),
    ([{"role": "robot", "content": "x"}], ValueError, "'robot' is not one of"),
    ([{"role": "user", "content": "x"}, {"role": "system", "content": "y"}], ValueError, "only the first"),
    ([{"role": "user", "content": 3}], TypeError, "must be a str"),
    ([{"role": "user", "content": "a<|im_end|>b"}], ValueError, "chat marker '<|im_end|>'"),
    ([{"role": "user", "content": IM_START}], ValueError, "chat marker '<|im_start|>'"),
])
def test_bad_messages_are_refused_with_the_reason(messages, error, words):
    with pytest.raises(error, match=words.replace("|", r"\|").replace("(", r"\(")):
        check_messages(messages)
    with pytest.raises(error):
        encode_chat(TOK, messages)
    with pytest.raises(error):
        format_chat(messages)


def test_prompt_ids_refuses_what_is_not_a_text():
    with pytest.raises(TypeError, match="must be a str"):
        prompt_ids(TOK, ["一加一"])
    with pytest.raises(ValueError, match="chat marker"):
        prompt_ids(TOK, "你好", system="<|im_end|>")


def test_generation_prompt_after_the_assistant_is_refused():
    with pytest.raises(ValueError, match="must end with a user"):
        format_chat(CONVERSATION, add_generation_prompt=True)
    with pytest.raises(ValueError, match="must end with a user"):
        encode_chat(TOK, CONVERSATION, add_generation_prompt=True)


def test_a_tokenizer_without_chat_markers_is_refused():
    plain = ByteBPE.train(["abc abc"], vocab_size=260, special_tokens=("<|endoftext|>",))
    with pytest.raises(ValueError, match="no special token '<|im_start|>'".replace("|", r"\|")):
        encode_chat(plain, CONVERSATION[1:3])
    with pytest.raises(ValueError, match="no special token"):
        decode_reply(plain, [1, 2])
