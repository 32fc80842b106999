"""Supervised fine-tuning (SFT): next-token loss on the assistant's replies only.

    examples = sft_examples(tok, conversations, max_len=128)          # [(x ids, y ids)], y = -1 off the reply
    history = train_sft(model, examples, steps=200, batch_size=16, lr=5e-4, generator=g)
    replies = generate_replies(model, tok, ["“银行”的拼音是什么？"], max_new_tokens=16)

A conversation is encoded by :func:`helpers.llm.chat.encode_chat` into ``ids`` and a ``mask``
(``True`` on the assistant's tokens). As in pretraining, the input is ``x = ids[:-1]`` and the
target ``y = ids[1:]``; the target of every position whose next token is not the assistant's is
set to ``-1``, which :class:`helpers.models.llama.Llama` (``F.cross_entropy(ignore_index=-1)``)
leaves out of the mean. So the loss is the average negative log-likelihood of the reply tokens
given everything before them. ``train_on_prompt=True`` trains on every token instead (the
mistake the SFT lesson shows). Batches are right-padded with ``pad_id`` in ``x`` and ``-1`` in
``y``; the decoder is causal, so padding never changes a real token's prediction.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validate import check_float, check_int, check_type, _describe_sequence as _what
from ..lm import configure_optimizer, cosine_lr
from .chat import IM_END, _special_id, decode_reply, encode_chat, prompt_ids

IGNORE = -1   # target id the loss ignores (Llama's ignore_index)


def sft_example(tok, messages, max_len: int, train_on_prompt: bool = False) -> tuple[list[int], list[int]]:
    """One conversation → ``(x, y)`` id lists of equal length ``len(ids) - 1`` (``y`` is ``-1`` where untrained).

    Raises if the conversation needs more than ``max_len`` input tokens (a cut-off reply would
    teach the model to stop mid-answer), or has no assistant token to train on.
    """
    check_int("max_len", max_len, min=1)
    ids, mask = encode_chat(tok, messages)
    if len(ids) - 1 > max_len:
        raise ValueError(f"the conversation is {len(ids) - 1} input tokens, more than max_len={max_len}; "
                         f"raise max_len or shorten the conversation (it is not truncated silently)")
    if not any(mask):
        raise ValueError("the conversation has no assistant message: nothing to train on; add the reply")
    x = ids[:-1]
    y = [t if (train_on_prompt or m) else IGNORE for t, m in zip(ids[1:], mask[1:])]
    return x, y


def sft_examples(tok, conversations, max_len: int, train_on_prompt: bool = False) -> list[tuple[list[int], list[int]]]:
    """:func:`sft_example` for each conversation (all are checked before any is returned)."""
    if isinstance(conversations, (str, dict)) or not hasattr(conversations, "__len__") or len(conversations) == 0:
        raise ValueError(f"conversations must be a non-empty list of message lists, got {_what(conversations)}")
    out = []
    for i, messages in enumerate(conversations):
        try:
            out.append(sft_example(tok, messages, max_len, train_on_prompt))
        except (TypeError, ValueError) as e:
            raise type(e)(f"conversations[{i}]: {e}") from None
    return out


def collate(examples, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[(x, y)]`` → ``x: (B, T)`` int64 padded with ``pad_id``, ``y: (B, T)`` padded with ``-1``; ``T`` = longest."""
    check_int("pad_id", pad_id, min=0)
    if not examples:
        raise ValueError("examples is empty: nothing to collate")
    T = max(len(x) for x, _ in examples)
    xs = torch.full((len(examples), T), pad_id, dtype=torch.long)
    ys = torch.full((len(examples), T), IGNORE, dtype=torch.long)
    for i, (x, y) in enumerate(examples):
        if len(x) != len(y):
            raise ValueError(f"examples[{i}]: x has {len(x)} ids but y has {len(y)}; build them with sft_example")
        xs[i, :len(x)] = torch.tensor(x, dtype=torch.long)
        ys[i, :len(y)] = torch.tensor(y, dtype=torch.long)
    return xs, ys


def reply_tokens(examples) -> int:
    """How many target tokens the loss sees (``y != -1``) in ``examples``."""
    for i, e in enumerate(examples):
        if not (isinstance(e, (tuple, list)) and len(e) == 2 and len(e[0]) == len(e[1])):
            raise ValueError(f"examples[{i}] must be an (x, y) pair of equal-length id lists, as sft_example returns")
    return sum(sum(t != IGNORE for t in y) for _, y in examples)


AVERAGES = ("token", "example")


def _check_average(average) -> str:
    if average not in AVERAGES:
        raise ValueError(f"average={average!r} must be 'token' (every reply token weighs the same) or "
                         "'example' (every example weighs the same)")
    return average


def sft_loss(logits: torch.Tensor, y: torch.Tensor, average: str = "token") -> torch.Tensor:
    """Cross-entropy of ``logits: (B, T, V)`` against ``y: (B, T)`` (``-1`` ignored), averaged two ways.

    ``"token"``: the mean over every reply token of the batch (what ``Llama(x, y)`` returns).
    ``"example"``: the mean over the examples of each example's mean over its own reply tokens
    (examples with no reply token are left out). With replies of 1 and 9 tokens, ``"token"``
    gives the long reply 9/10 of the weight, ``"example"`` gives each half.
    """
    _check_average(average)
    if not (isinstance(logits, torch.Tensor) and isinstance(y, torch.Tensor) and logits.dim() == 3
            and y.shape == logits.shape[:2]):
        raise ValueError(f"logits must be (B, T, V) and y (B, T) with the same B, T; got "
                         f"{tuple(getattr(logits, 'shape', ()))} and {tuple(getattr(y, 'shape', ()))}")
    nll = F.cross_entropy(logits.float().transpose(1, 2), y, ignore_index=IGNORE, reduction="none")   # (B, T)
    mask = (y != IGNORE).float()
    if not mask.any():
        raise ValueError("y has no reply token (every target is -1): nothing to average")
    if average == "token":
        return (nll * mask).sum() / mask.sum()
    counts = mask.sum(dim=1)
    per_example = (nll * mask).sum(dim=1) / counts.clamp(min=1)
    return per_example[counts > 0].mean()


def _next_indices(order: list[int], n: int, batch_size: int, generator) -> tuple[list[int], list[int]]:
    """The next ``batch_size`` indices of an epoch-shuffled order of ``range(n)`` and what is left of it."""
    while len(order) < batch_size:
        order = order + torch.randperm(n, generator=generator).tolist()
    return order[:batch_size], order[batch_size:]


def _set_lr(opt, step: int, steps: int, lr: float, warmup: int, min_lr: float) -> None:
    """Warm-up then cosine decay (``helpers.lm.cosine_lr``), respecting each group's ``lr_scale``."""
    rate = cosine_lr(step, lr=lr, warmup=min(warmup, steps - 1), max_iters=steps, min_lr=min_lr)
    for g in opt.param_groups:
        g["lr"] = rate * g.get("lr_scale", 1.0)


def train_sft(model, examples, steps: int, batch_size: int, lr: float, pad_id: int = 0,
              warmup: int = 10, min_lr: float | None = None, weight_decay: float = 0.0,
              generator: torch.Generator | None = None, log_every: int = 0, average: str = "token") -> list[float]:
    """Fine-tune ``model`` (a ``Llama``: ``model(x, y) -> (logits, loss)``) on ``examples`` for ``steps`` steps.

    Each step takes the next ``batch_size`` examples of a shuffled order (reshuffled every epoch,
    with ``generator``), AdamW on the trainable parameters (``requires_grad``, so a LoRA model
    trains only its adapters), warm-up then cosine decay to ``min_lr`` (default ``lr / 10``),
    gradient clipping at 1.0. Returns the loss of every step. ``log_every > 0`` prints the mean.

    ``average``: how the batch loss averages the reply tokens (see :func:`sft_loss`): ``"token"``
    (every reply token weighs the same, so a task with long replies dominates a mixture) or
    ``"example"`` (each example's mean first, so every example weighs the same).
    """
    check_int("steps", steps, min=1)
    check_int("batch_size", batch_size, min=1)
    check_float("lr", lr, min=0.0)
    check_int("warmup", warmup, min=0)
    check_int("log_every", log_every, min=0)
    _check_average(average)
    if generator is not None:
        check_type("generator", generator, torch.Generator, "torch.Generator")
    if not examples:
        raise ValueError("examples is empty: nothing to train on")
    min_lr = lr / 10 if min_lr is None else check_float("min_lr", min_lr, min=0.0)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("the model has no trainable parameter (requires_grad); unfreeze it or add LoRA adapters")
    opt = configure_optimizer(model, lr=lr, weight_decay=weight_decay)
    order: list[int] = []
    losses: list[float] = []
    was_training = model.training
    model.train()
    try:
        for step in range(steps):
            idx, order = _next_indices(order, len(examples), batch_size, generator)
            x, y = collate([examples[i] for i in idx], pad_id)
            _set_lr(opt, step, steps, lr, warmup, min_lr)
            loss = model(x, y)[1] if average == "token" else sft_loss(model(x)[0], y, average)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            losses.append(loss.item())
            if log_every and ((step + 1) % log_every == 0 or step + 1 == steps):
                window = losses[-log_every:]
                print(f"step {step + 1:4d}  reply loss {sum(window) / len(window):.3f}")
    finally:
        model.train(was_training)
    if not all(math.isfinite(v) for v in losses):
        raise FloatingPointError("the SFT loss became NaN/inf; lower lr")
    return losses


@torch.no_grad()
def generate_replies(model, tok, prompts, max_new_tokens: int = 32, system: str | None = None,
                     temperature: float = 0.0, generator: torch.Generator | None = None) -> list[str]:
    """The model's reply to each one-turn ``prompt`` (greedy by default), cut at ``<|im_end|>``.

    Prompts of equal token length are generated together as one batch (no padding, so each
    reply equals the one generated alone, up to floating-point summation order).
    """
    if isinstance(prompts, str) or not hasattr(prompts, "__len__") or len(prompts) == 0:
        raise ValueError(f"prompts must be a non-empty list of strings, got {_what(prompts)}")
    check_int("max_new_tokens", max_new_tokens, min=1)
    end = _special_id(tok, IM_END)
    encoded = [prompt_ids(tok, p, system) for p in prompts]
    replies: list[str | None] = [None] * len(prompts)
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(i)
    for length, rows in sorted(by_length.items()):
        idx = torch.tensor([encoded[i] for i in rows], dtype=torch.long)
        new = min(max_new_tokens, model.config.max_seq_len - length)
        if new < 1:
            raise ValueError(f"a prompt is {length} tokens, no room left in max_seq_len={model.config.max_seq_len}")
        out = model.generate(idx, new, temperature=temperature, generator=generator, stop_tokens=(end,))
        for r, i in enumerate(rows):
            replies[i] = decode_reply(tok, out[r, length:].tolist())
    return replies
