"""Group relative policy optimisation (GRPO): reinforcement learning with a reward a program computes.

    step = grpo_step(policy, reference, tok, prompts, reward_fn, optimizer, group_size=8, generator=g)

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
"""

from __future__ import annotations

import torch

from .._validate import check_float, check_int, check_type, _describe_sequence as _what
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
    out = model.generate(torch.tensor([ids] * group_size), room, temperature=temperature, generator=generator,
                         stop_tokens=(end,))
    x = out[:, :-1].clone()
    y = out[:, 1:].clone()
    y[:, :P - 1] = IGNORE                                   # the prompt is not the policy's output
    replies = []
    for g in range(group_size):
        reply = out[g, P:].tolist()
        stop = reply.index(end) + 1 if end in reply else len(reply)
        y[g, P - 1 + stop:] = IGNORE                        # nothing after <|im_end|>
        replies.append(decode_reply(tok, reply))
    return x, y, replies


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
    groups, rewards = [], []
    for prompt in prompts:
        x, y, replies = sample_group(policy, tok, prompt, group_size, max_new_tokens, temperature, generator)
        groups.append((x, y))
        rewards.append([float(reward_fn(prompt, r)) for r in replies])
    rewards_t = torch.tensor(rewards)
    adv = group_advantages(rewards_t)
    informative = (rewards_t.std(1) > 0).float().mean().item()
    with torch.no_grad():
        old = [token_logprobs(policy, x, y) for x, y in groups]
        ref = [token_logprobs(reference, x, y) for x, y in groups]
    was_training = policy.training
    policy.train()
    try:
        for _ in range(updates):
            losses, kls = [], []
            optimizer.zero_grad(set_to_none=True)
            for i, (x, y) in enumerate(groups):
                loss, kl = grpo_loss(token_logprobs(policy, x, y), old[i], ref[i], adv[i], y != IGNORE,
                                     clip_eps, beta)
                (loss / len(groups)).backward()
                losses.append(loss.item())
                kls.append(kl.item())
            torch.nn.utils.clip_grad_norm_([p for p in policy.parameters() if p.requires_grad], 1.0)
            optimizer.step()
    finally:
        policy.train(was_training)
    return {"reward": rewards_t.mean().item(), "informative": informative,
            "loss": sum(losses) / len(losses), "kl": sum(kls) / len(kls)}
