"""Group relative policy optimisation (GRPO): reinforcement learning with a reward a program computes.

    step = grpo_step(policy, reference, tok, prompts, reward_fn, optimizer, group_size=8, generator=g)
    replies = sample_replies(model, tok, prompts, n=8, generator=g)    # [[8 sampled replies] per prompt]

For each prompt the policy samples a *group* of ``G`` replies; a program scores each reply (e.g. 1
if the answer is right, 0 if not: a *verifiable reward*). GRPO (Shao et al., 2024, DeepSeekMath)
needs no value network: a reply's advantage is its reward standardised within its group,

    A_i = (r_i − mean(r_1..r_G)) / (std(r_1..r_G) + ε)

so a group where every reply has the same reward teaches nothing (all ``A_i = 0``). Every token
of reply ``i`` gets the advantage ``A_i``. The loss per token is PPO's clipped surrogate minus a
KL penalty to the frozen reference model,

    ratio_t = π(y_t|…) / π_old(y_t|…)
    L_t     = −[min(ratio_t·A, clip(ratio_t, 1−ε_clip, 1+ε_clip)·A) − β·KL_t]
    KL_t    = π_ref/π − log(π_ref/π) − 1            (the k3 estimator: unbiased, never negative)

averaged over each reply's tokens, then over the replies. ``π_old`` is the policy that sampled
the group; with one update per group (``updates=1``) the ratio is 1 and the gradient is the
policy gradient ``A·∇log π``; more updates on the same group make the clipping matter.

The replies are short and the prompts long, so the prompt dominates the cost: sampling reads each
prompt once and copies its key/value cache for the ``G`` replies (:func:`sample_replies`), and the
log-probabilities of a group are computed the same way (:func:`shared_prompt_logprobs`), with
gradients flowing through the shared prompt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_float, check_int, check_type, _describe_sequence as _what
from ..models.gpt import KVCache, _sample
from .chat import IM_END, _special_id, decode_reply, prompt_ids
from .dpo import token_logprobs
from .sft import IGNORE


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """``rewards: (N, G)`` (``N`` prompts, ``G`` replies each) → advantages ``(N, G)``, standardised per row.

    Uses the population standard deviation of each group; a group with equal rewards gets zeros.
    """
    check_type("rewards", rewards, torch.Tensor, "(N, G) tensor of rewards")
    if rewards.ndim != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be (N prompts, G >= 2 replies), got shape {tuple(rewards.shape)}")
    check_float("eps", eps, min=0.0, min_inclusive=False)
    r = rewards.float()
    return (r - r.mean(1, keepdim=True)) / (r.std(1, unbiased=False, keepdim=True) + eps)


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor, advantages: torch.Tensor,
              mask: torch.Tensor, clip_eps: float = 0.2, beta: float = 0.04) -> tuple[torch.Tensor, torch.Tensor]:
    """The GRPO loss (see the module docstring) and the mean per-token KL to the reference.

    ``logp, old_logp, ref_logp, mask: (B, T)`` (token log-probabilities under the current, sampling
    and reference policies; ``mask`` True on reply tokens), ``advantages: (B,)``.
    """
    check_float("clip_eps", clip_eps, min=0.0, min_inclusive=False, max=1.0, max_inclusive=False)
    check_float("beta", beta, min=0.0)
    for name, t in {"old_logp": old_logp, "ref_logp": ref_logp, "mask": mask}.items():
        check_type(name, t, torch.Tensor, "(B, T) tensor")
        if t.shape != logp.shape:
            raise ValueError(f"{name} must have the shape of logp {tuple(logp.shape)}, got {tuple(t.shape)}")
    check_type("advantages", advantages, torch.Tensor, "(B,) tensor")
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be ({logp.shape[0]},), one per reply, got {tuple(advantages.shape)}")
    m = mask.float()
    if (m.sum(1) == 0).any():
        raise ValueError("a reply has no token in mask; every sampled reply must have at least one token")
    ratio = torch.exp(logp - old_logp.detach())
    a = advantages.unsqueeze(1)
    surrogate = torch.minimum(ratio * a, ratio.clamp(1 - clip_eps, 1 + clip_eps) * a)
    log_q = ref_logp.detach() - logp
    kl = torch.exp(log_q) - log_q - 1
    per_token = -(surrogate - beta * kl)
    loss = ((per_token * m).sum(1) / m.sum(1)).mean()
    return loss, ((kl * m).sum() / m.sum()).detach()


def shared_prompt_logprobs(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:func:`helpers.llm.dpo.token_logprobs` for a group of replies to one prompt, reading the prompt once.

    ``x, y: (G, T)`` as :func:`sample_group` returns them: every row starts with the same prompt and
    ``y`` is ``-1`` before the reply. The prompt (all but its last token) runs through the model once,
    its key/value cache is shared by the ``G`` rows (gradients flow through it), and only the rest
    is computed per row. Returns ``(G, T)`` log-probabilities, 0 where ``y == -1``; equal to
    ``token_logprobs(model, x, y)`` up to floating-point rounding, in a fraction of the time when the
    replies are short and the prompt long.
    """
    check_type("x", x, torch.Tensor, "(G, T) tensor of ids")
    check_type("y", y, torch.Tensor, "(G, T) tensor of target ids (-1 = ignored)")
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must both be (G, T), got {tuple(x.shape)} and {tuple(y.shape)}")
    trained = (y != IGNORE).any(0).nonzero()
    if len(trained) == 0:
        raise ValueError("y has no target (all -1): there is no reply to score")
    start = int(trained[0])                                 # first position that predicts a reply token
    if start == 0 or not (x[:, :start] == x[:1, :start]).all():
        return token_logprobs(model, x, y)                  # no shared prompt to reuse
    G = x.shape[0]
    cache = KVCache(model.config.n_layer)
    model.features(x[:1, :start], cache)                    # the prompt, once
    cache.layers = [(k.expand(G, -1, -1, -1), v.expand(G, -1, -1, -1)) for k, v in cache.layers]
    logp = F.log_softmax(model.lm_head(model.features(x[:, start:], cache)).float(), dim=-1)
    tail = y[:, start:]
    picked = logp.gather(-1, tail.clamp(min=0).unsqueeze(-1)).squeeze(-1) * (tail != IGNORE)
    return torch.cat([picked.new_zeros(G, start), picked], dim=1)


@torch.no_grad()
def sample_group(model, tok, prompt: str, group_size: int, max_new_tokens: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None, system: str | None = None):
    """Sample ``group_size`` replies to ``prompt``. Returns ``(x, y, replies)``.

    ``x, y: (G, T)`` hold prompt + reply (``y`` = next tokens, ``-1`` except on the reply and its
    ``<|im_end|>``; tokens after the first ``<|im_end|>`` are dropped), ``replies`` the decoded texts.
    """
    check_int("group_size", group_size, min=2)
    check_int("max_new_tokens", max_new_tokens, min=1)
    check_float("temperature", temperature, min=0.0, min_inclusive=False)
    end = _special_id(tok, IM_END)
    ids = prompt_ids(tok, prompt, system)
    P = len(ids)
    room = min(max_new_tokens, model.config.max_seq_len - P)
    if room < 1:
        raise ValueError(f"the prompt is {P} tokens: no room left in max_seq_len={model.config.max_seq_len}")
    new = _sample_shared(model, torch.tensor([ids]), group_size, room, temperature, generator, end)
    return _group_tensors(tok, ids, new, end)


def _group_tensors(tok, ids: list[int], new: torch.Tensor, end: int):
    """Prompt ``ids`` + sampled tokens ``new: (G, n)`` → ``(x, y, replies)`` as :func:`sample_group` returns them."""
    P = len(ids)
    out = torch.cat([torch.tensor([ids] * new.shape[0]), new], 1)
    x = out[:, :-1].clone()
    y = out[:, 1:].clone()
    y[:, :P - 1] = IGNORE                                   # the prompt is not the policy's output
    replies = []
    for g in range(new.shape[0]):
        reply = new[g].tolist()
        stop = reply.index(end) + 1 if end in reply else len(reply)
        y[g, P - 1 + stop:] = IGNORE                        # nothing after <|im_end|>
        replies.append(decode_reply(tok, reply))
    keep = int((y != IGNORE).any(0).nonzero().max()) + 1   # drop columns where every reply has ended
    return x[:, :keep], y[:, :keep], replies


@torch.no_grad()
def sample_replies(model, tok, prompts, n: int, max_new_tokens: int = 16, temperature: float = 1.0,
                   generator: torch.Generator | None = None, system: str | None = None) -> list[list[str]]:
    """``n`` sampled replies to each prompt: ``[[reply, ...] * n] * len(prompts)``, each cut at ``<|im_end|>``.

    The same draws as ``model.generate`` on the prompts of each token length (shortest first), every
    prompt repeated ``n`` times, but cheaper: each prompt is read once (the prefill, the expensive
    part for short replies) and its key/value cache copied ``n`` times before the replies are
    sampled token by token with ``generator``.
    """
    if isinstance(prompts, str) or not hasattr(prompts, "__len__") or len(prompts) == 0:
        raise ValueError(f"prompts must be a non-empty list of strings, got {_what(prompts)}")
    check_int("n", n, min=1)
    check_int("max_new_tokens", max_new_tokens, min=1)
    check_float("temperature", temperature, min=0.0, min_inclusive=False)
    if generator is not None:
        check_type("generator", generator, torch.Generator, "torch.Generator")
    end = _special_id(tok, IM_END)
    encoded = [prompt_ids(tok, p, system) for p in prompts]
    too_long = [i for i, ids in enumerate(encoded) if len(ids) >= model.config.max_seq_len]
    if too_long:
        raise ValueError(f"prompts[{too_long[0]}] is {len(encoded[too_long[0]])} tokens: no room left in "
                         f"max_seq_len={model.config.max_seq_len}")
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(i)
    replies: list[list[str]] = [[] for _ in prompts]
    for length, rows in sorted(by_length.items()):
        room = min(max_new_tokens, model.config.max_seq_len - length)
        new = _sample_shared(model, torch.tensor([encoded[i] for i in rows]), n, room, temperature, generator, end)
        for r, i in enumerate(rows):
            replies[i] = [decode_reply(tok, new[r * n + j].tolist()) for j in range(n)]
    return replies


@torch.no_grad()
def _sample_shared(model, idx: torch.Tensor, n: int, max_new_tokens: int, temperature: float, generator,
                   end: int) -> torch.Tensor:
    """``idx: (P, L)`` equal-length prompts → ``(P*n, new)`` sampled tokens, rows ``p*n .. p*n+n-1`` for prompt ``p``.

    Each prompt is read once; its key/value cache is copied ``n`` times. Stops when every row has
    produced ``end`` (rows that ended keep sampling, as in ``Llama.generate``; callers cut at ``end``).
    """
    was_training = model.training
    model.eval()
    try:
        cache = KVCache(model.config.n_layer)
        hidden = model.features(idx, cache)[:, -1:]                                       # (P, 1, d)
        cache.layers = [(k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)) for k, v in cache.layers]
        logits = model.lm_head(hidden).repeat_interleave(n, 0)[:, -1].float()             # (P*n, V)
        out, done = [], torch.zeros(idx.shape[0] * n, dtype=torch.bool)
        for step in range(max_new_tokens):
            nxt = _sample(logits, temperature, None, generator)                           # (P*n, 1)
            out.append(nxt)
            done |= nxt[:, 0] == end
            if done.all() or step + 1 == max_new_tokens:
                break
            logits = model.forward_cached(nxt, cache)[:, -1].float()
    finally:
        model.train(was_training)
    return torch.cat(out, 1)


def grpo_step(policy, reference, tok, prompts, reward_fn, optimizer, group_size: int = 8,
              max_new_tokens: int = 16, temperature: float = 1.0, clip_eps: float = 0.2, beta: float = 0.04,
              updates: int = 1, generator: torch.Generator | None = None) -> dict[str, float]:
    """One GRPO step: sample a group per prompt, score with ``reward_fn(prompt, reply) -> float``, update.

    Returns the mean ``reward``, the share of groups with any signal (``informative``: rewards not
    all equal), the last ``loss`` and the mean ``kl`` to ``reference``.
    """
    if isinstance(prompts, str) or not hasattr(prompts, "__len__") or len(prompts) == 0:
        raise ValueError(f"prompts must be a non-empty list of strings, got {_what(prompts)}")
    if not callable(reward_fn):
        raise TypeError(f"reward_fn must be callable as reward_fn(prompt, reply) -> float, got {reward_fn!r:.60}")
    check_int("updates", updates, min=1)
    check_int("group_size", group_size, min=2)
    check_int("max_new_tokens", max_new_tokens, min=1)
    check_float("temperature", temperature, min=0.0, min_inclusive=False)
    check_float("clip_eps", clip_eps, min=0.0, min_inclusive=False, max=1.0, max_inclusive=False)
    check_float("beta", beta, min=0.0)
    check_type("optimizer", optimizer, torch.optim.Optimizer, "torch.optim.Optimizer over the policy's parameters")
    if reference is policy:
        raise ValueError("reference is the policy itself; pass a frozen copy (copy.deepcopy(policy))")
    end = _special_id(tok, IM_END)
    encoded = [prompt_ids(tok, p) for p in prompts]
    for i, ids in enumerate(encoded):
        if len(ids) >= policy.config.max_seq_len:
            raise ValueError(f"prompts[{i}] is {len(ids)} tokens: no room left in max_seq_len={policy.config.max_seq_len}")
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(i)
    sampled: list = [None] * len(prompts)
    for length, rows in sorted(by_length.items()):          # prompts of one length are sampled together
        room = min(max_new_tokens, policy.config.max_seq_len - length)
        new = _sample_shared(policy, torch.tensor([encoded[i] for i in rows]), group_size, room, temperature,
                             generator, end)
        for r, i in enumerate(rows):
            sampled[i] = _group_tensors(tok, encoded[i], new[r * group_size:(r + 1) * group_size], end)
    groups, rewards = [], []
    for prompt, (x, y, replies) in zip(prompts, sampled):
        groups.append((x, y))
        rewards.append([float(reward_fn(prompt, r)) for r in replies])
    rewards_t = torch.tensor(rewards)
    adv = group_advantages(rewards_t)
    informative = (rewards_t.std(1) > 0).float().mean().item()
    with torch.no_grad():       # with one update, pi_old is the policy being updated: no extra forward pass
        old = [shared_prompt_logprobs(policy, x, y) for x, y in groups] if updates > 1 else None
        ref = [shared_prompt_logprobs(reference, x, y) for x, y in groups]
    was_training = policy.training
    policy.train()
    try:
        for _ in range(updates):
            losses, kls = [], []
            optimizer.zero_grad(set_to_none=True)
            for i, (x, y) in enumerate(groups):
                logp = shared_prompt_logprobs(policy, x, y)
                loss, kl = grpo_loss(logp, old[i] if old is not None else logp.detach(), ref[i], adv[i],
                                     y != IGNORE, clip_eps, beta)
                (loss / len(groups)).backward()
                losses.append(loss.item())
                kls.append(kl.item())
            torch.nn.utils.clip_grad_norm_([p for p in policy.parameters() if p.requires_grad], 1.0)
            optimizer.step()
    finally:
        policy.train(was_training)
    return {"reward": rewards_t.mean().item(), "informative": informative,
            "loss": sum(losses) / len(losses), "kl": sum(kls) / len(kls)}
