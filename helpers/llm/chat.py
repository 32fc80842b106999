"""The chat template: how a conversation becomes one token sequence, and which tokens are trained.

The book uses ChatML, the format of Qwen (and of OpenAI's early chat models)::

    <|im_start|>system
    你是一个乐于助人的助手。<|im_end|>
    <|im_start|>user
    “银行”的拼音是什么？<|im_end|>
    <|im_start|>assistant
    yín háng<|im_end|>

Each message is ``<|im_start|>`` + role + newline + content + ``<|im_end|>`` + newline. The two
markers are special tokens of :class:`helpers.llm.bpe.ByteBPE`: they are never produced by
merges, so a user cannot type them by accident (``encode_chat`` refuses content that contains
them). To ask the model for an answer, the prompt ends with an *open* assistant header
(``add_generation_prompt=True``) and generation stops at ``<|im_end|>``.

Supervised fine-tuning trains only on what the assistant says: ``encode_chat`` returns, next to
the ids, a mask that is ``True`` on the assistant's content and its closing ``<|im_end|>`` (so the
model learns to stop) and ``False`` on everything else (the headers, the system and user text).
``CHAT_TEMPLATE`` is the same format as a Jinja template for ``transformers``'
``apply_chat_template``; the tests check that both give the same ids and the same mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ROLES = ("system", "user", "assistant")
IM_START, IM_END = "<|im_start|>", "<|im_end|>"

# The same format for transformers (``tokenizer.apply_chat_template(..., chat_template=CHAT_TEMPLATE)``);
# {% generation %} marks the tokens ``return_assistant_tokens_mask=True`` reports.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def check_messages(messages, *, generation_prompt: bool = False) -> list[dict]:
    """Validate a conversation: a list of ``{"role": ..., "content": str}``; returns plain dicts.

    Roles are ``system`` (only first), ``user`` and ``assistant``; contents may not contain the
    ChatML markers. With ``generation_prompt`` the last message must not be the assistant's.
    """
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, Sequence) or not messages:
        raise TypeError(f"messages must be a non-empty list of {{'role', 'content'}} dicts, got {messages!r:.80}")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or set(m) != {"role", "content"}:
            raise ValueError(f"messages[{i}] must be a dict with exactly the keys 'role' and 'content', got {m!r:.80}")
        role, content = m["role"], m["content"]
        if role not in ROLES:
            raise ValueError(f"messages[{i}]['role']={role!r} is not one of {ROLES}")
        if role == "system" and i != 0:
            raise ValueError(f"messages[{i}] is a system message; only the first message may be one")
        if not isinstance(content, str):
            raise TypeError(f"messages[{i}]['content'] must be a str, got {type(content).__name__}")
        for marker in (IM_START, IM_END):
            if marker in content:
                raise ValueError(f"messages[{i}]['content'] contains the chat marker {marker!r}; "
                                 f"remove it (markers come only from the template)")
        out.append({"role": role, "content": content})
    if generation_prompt and out[-1]["role"] == "assistant":
        raise ValueError("the last message is the assistant's; with add_generation_prompt=True the "
                         "conversation must end with a user (or system) message")
    return out


def format_chat(messages, add_generation_prompt: bool = False) -> str:
    """The conversation as ChatML text (see the module docstring)."""
    msgs = check_messages(messages, generation_prompt=add_generation_prompt)
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in msgs)
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def _special_id(tok, marker: str) -> int:
    try:
        return tok.special_tokens[marker]
    except (AttributeError, KeyError):
        raise ValueError(f"the tokenizer has no special token {marker!r}; "
                         f"use a ByteBPE trained with special_tokens including it") from None


def encode_chat(tok, messages, add_generation_prompt: bool = False) -> tuple[list[int], list[bool]]:
    """Token ids of the ChatML conversation and the training mask (``True`` = assistant output).

    ``tok``: a :class:`~helpers.llm.bpe.ByteBPE` with ``<|im_start|>`` and ``<|im_end|>``.
    Each piece (header, content, closing marker) is encoded separately, so the mask boundaries
    fall exactly between tokens; for ordinary content the ids equal ``tok.encode(format_chat(...))``.
    Returns ``(ids, mask)``, two lists of the same length.
    """
    msgs = check_messages(messages, generation_prompt=add_generation_prompt)
    start, end = _special_id(tok, IM_START), _special_id(tok, IM_END)
    newline = tok.encode("\n")
    ids: list[int] = []
    mask: list[bool] = []

    def add(piece: list[int], trained: bool) -> None:
        ids.extend(piece)
        mask.extend([trained] * len(piece))

    for m in msgs:
        add([start] + tok.encode(m["role"] + "\n"), False)
        answer = m["role"] == "assistant"
        add(tok.encode(m["content"], allow_special=False) + [end], answer)
        add(newline, False)
    if add_generation_prompt:
        add([start] + tok.encode("assistant\n"), False)
    return ids, mask


def prompt_ids(tok, prompt: str, system: str | None = None) -> list[int]:
    """Ids of a one-turn prompt ending with the open assistant header, ready for ``generate``."""
    messages = ([{"role": "system", "content": system}] if system is not None else []) + \
        [{"role": "user", "content": prompt}]
    return encode_chat(tok, messages, add_generation_prompt=True)[0]


def decode_reply(tok, ids) -> str:
    """The assistant's reply in generated ``ids``: decoded up to (without) the first ``<|im_end|>``."""
    end = _special_id(tok, IM_END)
    ids = list(ids)
    if end in ids:
        ids = ids[:ids.index(end)]
    return tok.decode(ids)
