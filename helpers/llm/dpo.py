"""Direct preference optimisation (DPO): learn from pairs "this reply is better than that one".

    pairs = [(messages, chosen_reply, rejected_reply), ...]
    history = train_dpo(policy, reference, tok, pairs, steps=60, batch_size=8, lr=1e-4, beta=0.1)

The reference model ``π_ref`` is a frozen copy of the model we start from (the SFT model). DPO
(Rafailov et al., 2023) shows that the RLHF objective "maximise reward, stay close to ``π_ref`` in
KL" has a closed-form optimum, and turns it into a classification loss on log-probability ratios:

    margin = β · [(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]
    loss   = −log σ(margin)

``y_w`` is the chosen reply, ``y_l`` the rejected one, ``log π(y|x)`` the sum of the reply tokens'
log-probabilities (:func:`sequence_logprobs`). ``β · (log π − log π_ref)`` is the *implicit
reward* of a reply; the loss pushes the chosen reply's implicit reward above the rejected one's.
Only the reply tokens count: the prompt is the same on both sides.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from .._validate import check_float, check_int, check_type, _describe_sequence as _what
from ..lm import configure_optimizer
from .sft import IGNORE, _next_indices, _set_lr, collate, sft_example


def token_logprobs(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x, y: (B, T)`` (``y = -1`` off the reply) → ``(B, T)`` log-probability of each target ``y_t`` (0 where ignored)."""
    check_type("x", x, torch.Tensor, "(B, T) tensor of ids")
    check_type("y", y, torch.Tensor, "(B, T) tensor of target ids (-1 = ignored)")
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must both be (B, T), got {tuple(x.shape)} and {tuple(y.shape)}")
    logp = F.log_softmax(model(x)[0].float(), dim=-1)                         # (B, T, V)
    picked = logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)      # (B, T)
    return picked * (y != IGNORE)


def sequence_logprobs(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x, y: (B, T)`` → ``(B,)`` sum of ``log p(y_t | x_≤t)`` over the reply tokens (``y != -1``)."""
    return token_logprobs(model, x, y).sum(-1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DPO loss (mean over the batch) and the implicit rewards ``β·(log π − log π_ref)`` of both replies.

    All four inputs are ``(B,)`` sequence log-probabilities. Returns ``(loss, chosen_rewards, rejected_rewards)``.
    """
    check_float("beta", beta, min=0.0, min_inclusive=False)
    tensors = {"policy_chosen": policy_chosen, "policy_rejected": policy_rejected,
               "ref_chosen": ref_chosen, "ref_rejected": ref_rejected}
    for name, t in tensors.items():
        check_type(name, t, torch.Tensor, "(B,) tensor of sequence log-probabilities")
        if t.ndim != 1 or t.shape != policy_chosen.shape:
            raise ValueError(f"{name} must be a (B,) tensor like policy_chosen {tuple(policy_chosen.shape)}, "
                             f"got {tuple(t.shape)}")
    chosen = beta * (policy_chosen - ref_chosen)
    rejected = beta * (policy_rejected - ref_rejected)
    loss = -F.logsigmoid(chosen - rejected).mean()
    return loss, chosen.detach(), rejected.detach()


def preference_batch(tok, pairs, max_len: int, pad_id: int = 0):
    """``[(messages, chosen, rejected)]`` → ``(x_w, y_w, x_l, y_l)`` padded tensors (targets on the replies only)."""
    if isinstance(pairs, (str, dict)) or not hasattr(pairs, "__len__") or len(pairs) == 0:
        raise ValueError(f"pairs must be a non-empty list of (messages, chosen, rejected), got {_what(pairs)}")
    won, lost = [], []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 3):
            raise ValueError(f"pairs[{i}] must be (messages, chosen reply, rejected reply), got {pair!r:.80}")
        messages, chosen, rejected = pair
        if chosen == rejected:
            raise ValueError(f"pairs[{i}]: the chosen and rejected replies are the same ({chosen!r}); "
                             f"a preference needs two different replies")
        try:
            won.append(sft_example(tok, list(messages) + [{"role": "assistant", "content": chosen}], max_len))
            lost.append(sft_example(tok, list(messages) + [{"role": "assistant", "content": rejected}], max_len))
        except (TypeError, ValueError) as e:
            raise type(e)(f"pairs[{i}]: {e}") from None
    return (*collate(won, pad_id), *collate(lost, pad_id))


def train_dpo(policy, reference, tok, pairs, steps: int, batch_size: int, lr: float, beta: float = 0.1,
              max_len: int = 128, pad_id: int = 0, warmup: int = 5, generator: torch.Generator | None = None,
              log_every: int = 0) -> dict[str, list[float]]:
    """Optimise ``policy`` with the DPO loss on ``pairs`` against the frozen ``reference`` (``None``: a copy of ``policy``).

    Every argument and every pair is checked first; then ``reference`` is put in eval mode and
    its parameters frozen (``requires_grad=False``): it never changes.

    Each step takes ``batch_size`` pairs of a shuffled order (reshuffled every epoch, with
    ``generator``); AdamW on the trainable parameters, warm-up then cosine decay to ``lr / 10``,
    clipping at 1.0. Returns per-step ``loss``, ``margin`` (mean chosen − rejected implicit reward)
    and ``accuracy`` (share of pairs whose chosen reward is higher).
    """
    check_int("steps", steps, min=1)
    check_int("batch_size", batch_size, min=1)
    check_float("lr", lr, min=0.0)
    check_float("beta", beta, min=0.0, min_inclusive=False)
    check_int("log_every", log_every, min=0)
    if generator is not None:
        check_type("generator", generator, torch.Generator, "torch.Generator")
    if reference is policy:
        raise ValueError("reference is the policy itself; pass a frozen copy (copy.deepcopy(policy)) or None")
    batches = preference_batch(tok, pairs, max_len, pad_id)                 # checks every pair first
    if not any(p.requires_grad for p in policy.parameters()):
        raise ValueError("the policy has no trainable parameter (requires_grad); unfreeze it or add LoRA adapters")
    if reference is None:
        reference = copy.deepcopy(policy)
    reference.eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    x_w, y_w, x_l, y_l = batches
    with torch.no_grad():
        ref_w, ref_l = sequence_logprobs(reference, x_w, y_w), sequence_logprobs(reference, x_l, y_l)
    opt = configure_optimizer(policy, lr=lr, weight_decay=0.0)
    history: dict[str, list[float]] = {"loss": [], "margin": [], "accuracy": []}
    order: list[int] = []
    was_training = policy.training
    policy.train()
    try:
        for step in range(steps):
            chosen, order = _next_indices(order, len(pairs), batch_size, generator)
            idx = torch.tensor(chosen)
            _set_lr(opt, step, steps, lr, warmup, lr / 10)
            pi_w = sequence_logprobs(policy, x_w[idx], y_w[idx])
            pi_l = sequence_logprobs(policy, x_l[idx], y_l[idx])
            loss, r_w, r_l = dpo_loss(pi_w, pi_l, ref_w[idx], ref_l[idx], beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in policy.parameters() if p.requires_grad], 1.0)
            opt.step()
            history["loss"].append(loss.item())
            history["margin"].append((r_w - r_l).mean().item())
            history["accuracy"].append((r_w > r_l).float().mean().item())
            if log_every and ((step + 1) % log_every == 0 or step + 1 == steps):
                print(f"step {step + 1:4d}  loss {loss.item():.4f}  reward margin {history['margin'][-1]:+.3f}")
    finally:
        policy.train(was_training)
    if not all(math.isfinite(v) for v in history["loss"]):
        raise FloatingPointError("the DPO loss became NaN/inf; lower lr or beta")
    return history
