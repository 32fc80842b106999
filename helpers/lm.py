"""Language-model baselines and the training loop for :class:`helpers.models.gpt.GPT`.

Baselines (counts with add-k smoothing), scored by held-out cross-entropy in
nats per token (lower is better; ``ln(vocab_size)`` is a uniform guess)::

    UnigramLM(V).fit(train_ids).cross_entropy(val_ids)     # p(x_t)
    BigramLM(V).fit(train_ids).cross_entropy(val_ids)      # p(x_t | x_{t-1})

``train_lm(model, train_ids, val_ids, max_iters=..., batch_size=..., lr=..., warmup=...)``
is nanoGPT's ``train.py`` as a function: AdamW with weight decay only on the
weight matrices, linear warm-up then cosine decay, gradient clipping, and an
evaluation on the same fixed validation slice every ``eval_interval`` steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import check_float, check_ids, check_int, check_type
from .env import progress_enabled
from .text import get_batch
from .train import History


def _ids(data, name: str = "ids", vocab_size: int | None = None) -> torch.Tensor:
    """A non-empty 1-D int64 tensor of ids in ``[0, vocab_size)`` (see ``helpers._validate.check_ids``)."""
    return check_ids(name, data, vocab_size)


class UnigramLM:
    """``p(v) = (count(v) + k) / (N + k V)``: ignores the context entirely."""

    def __init__(self, vocab_size: int, k: float = 1.0):
        self.vocab_size = check_int("vocab_size", vocab_size, min=1)
        self.k = check_float("k", k, min=0.0)
        self.counts: torch.Tensor | None = None

    def fit(self, ids) -> "UnigramLM":
        ids = _ids(ids, "ids", self.vocab_size)
        self.counts = torch.bincount(ids, minlength=self.vocab_size).double()
        return self

    def log_probs(self) -> torch.Tensor:
        """``(V,)`` log-probabilities."""
        if self.counts is None:
            raise RuntimeError("call fit(train_ids) first")
        c = self.counts + self.k
        return (c / c.sum()).log()

    def cross_entropy(self, ids) -> float:
        """Mean ``-log p(x_t)`` over ``ids`` in nats."""
        log_probs = self.log_probs()
        return float(-log_probs[_ids(ids, "ids", self.vocab_size)].mean())


class BigramLM:
    """``p(b | a) = (count(a, b) + k) / (count(a, .) + k V)``.

    Only the pairs that occur are stored (sorted ``a * V + b`` codes), so a
    vocabulary of thousands of characters needs no ``V x V`` table.
    """

    def __init__(self, vocab_size: int, k: float = 1.0):
        self.vocab_size = check_int("vocab_size", vocab_size, min=1)
        k = check_float("k", k)
        if k <= 0:
            raise ValueError(f"k={k} must be > 0: unseen pairs would get probability 0 (infinite loss)")
        self.k = k
        self.pairs: torch.Tensor | None = None

    def fit(self, ids) -> "BigramLM":
        ids = _ids(ids, "ids", self.vocab_size)
        if len(ids) < 2:
            raise ValueError("need at least two tokens to count pairs")
        codes = ids[:-1] * self.vocab_size + ids[1:]
        self.pairs, self.pair_counts = torch.unique(codes, return_counts=True)   # sorted codes
        self.row_counts = torch.bincount(ids[:-1], minlength=self.vocab_size)
        return self

    def _pair_count(self, codes: torch.Tensor) -> torch.Tensor:
        pos = torch.searchsorted(self.pairs, codes).clamp(max=len(self.pairs) - 1)
        return torch.where(self.pairs[pos] == codes, self.pair_counts[pos], 0)

    def log_prob(self, prev, nxt) -> torch.Tensor:
        """``log p(nxt | prev)`` element-wise for id tensors of equal shape."""
        if self.pairs is None:
            raise RuntimeError("call fit(train_ids) first")
        prev = check_ids("prev", prev, self.vocab_size, ndim=None, allow_empty=True)
        nxt = check_ids("nxt", nxt, self.vocab_size, ndim=None, allow_empty=True)
        if prev.shape != nxt.shape:
            raise ValueError(f"prev and nxt must have the same shape, got {tuple(prev.shape)} and {tuple(nxt.shape)}")
        num = self._pair_count(prev * self.vocab_size + nxt).double() + self.k
        den = self.row_counts[prev].double() + self.k * self.vocab_size
        return (num / den).log()

    def next_probs(self, prev: int) -> torch.Tensor:
        """``(V,)`` distribution of the token after ``prev``."""
        prev = check_int("prev", prev, min=0)
        if prev >= self.vocab_size:
            raise ValueError(f"prev={prev} is outside the vocabulary [0, {self.vocab_size})")
        return self.log_prob(torch.full((self.vocab_size,), prev), torch.arange(self.vocab_size)).exp()

    def cross_entropy(self, ids) -> float:
        """Mean ``-log p(x_t | x_{t-1})`` over ``t = 1 .. N-1`` in nats."""
        if self.pairs is None:
            raise RuntimeError("call fit(train_ids) first")
        ids = _ids(ids, "ids", self.vocab_size)
        if len(ids) < 2:
            raise ValueError(f"ids has {len(ids)} token; need at least two to score a pair")
        return float(-self.log_prob(ids[:-1], ids[1:]).mean())


# ----------------------------------------------------------------------------- training


def cosine_lr(it: int, *, lr: float, warmup: int, max_iters: int, min_lr: float) -> float:
    """Learning rate at step ``it``: linear warm-up over ``warmup`` steps, then cosine decay to ``min_lr``."""
    check_int("it", it, min=0)
    check_int("warmup", warmup, min=0)
    check_int("max_iters", max_iters, min=1)
    check_float("lr", lr, min=0.0)
    check_float("min_lr", min_lr, min=0.0)
    if it < warmup:
        return lr * (it + 1) / warmup
    if it >= max_iters:
        return min_lr
    progress = (it - warmup) / max(1, max_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def configure_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.1,
                        betas: tuple[float, float] = (0.9, 0.95),
                        embedding_lr_scale: float = 1.0) -> torch.optim.AdamW:
    """AdamW with weight decay on the weights of linear layers only.

    Biases, LayerNorm parameters and the vocabulary/position matrices (every
    ``nn.Embedding`` and the model's ``lm_head``, tied or not) are not decayed.
    ``embedding_lr_scale != 1`` moves those matrices into a third group whose
    learning rate is ``lr * embedding_lr_scale`` (each group carries its factor
    as ``"lr_scale"``, which :func:`train_lm`'s schedule respects). Only
    parameters with ``requires_grad`` are included.
    """
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_float("lr", lr, min=0.0, min_inclusive=False)
    check_float("weight_decay", weight_decay, min=0.0)
    if not embedding_lr_scale > 0:
        raise ValueError(f"embedding_lr_scale={embedding_lr_scale!r} must be > 0")
    embedding_ids = set()
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            embedding_ids.update(id(p) for p in module.parameters(recurse=False))
    head = getattr(model, "lm_head", None)
    if isinstance(head, nn.Linear):
        embedding_ids.add(id(head.weight))
    norm_ids = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters(recurse=False)}
    separate = embedding_lr_scale != 1.0
    decay, no_decay, embeddings, seen = [], [], [], set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if id(p) in embedding_ids:
            (embeddings if separate else no_decay).append(p)
        elif id(p) in norm_ids or p.dim() < 2:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay, "lr_scale": 1.0},
              {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0},
              {"params": embeddings, "weight_decay": 0.0, "lr_scale": embedding_lr_scale}]
    groups = [g for g in groups if g["params"]]
    for g in groups:
        g["lr"] = lr * g["lr_scale"]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def fixed_windows(data, block_size: int, max_windows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``max_windows`` non-overlapping windows of ``data``: ``x, y: (n, block_size)``.

    The same slice every time, so validation losses at different steps are comparable.
    """
    check_int("block_size", block_size, min=1)
    check_int("max_windows", max_windows, min=1)
    data = _ids(data, "data")
    n = min(max_windows, (len(data) - 1) // block_size)
    if n < 1:
        raise ValueError(f"validation data has {len(data)} tokens, need more than block_size={block_size}")
    x = data[: n * block_size].view(n, block_size)
    y = data[1: n * block_size + 1].view(n, block_size)
    return x, y


@torch.no_grad()
def evaluate_lm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64,
                device=None, amp: bool = False) -> float:
    """Mean next-token cross-entropy (nats) of ``model`` on windows ``x, y: (n, T)``."""
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_int("batch_size", batch_size, min=1)
    x, y = check_ids("x", x, ndim=2), check_ids("y", y, ndim=2)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape (n, T), got {tuple(x.shape)} and {tuple(y.shape)}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            _, loss = model(xb, yb)
        total += loss.item() * yb.numel()
        count += yb.numel()
    model.train(was_training)
    return total / count


@dataclass
class LMHistory(History):
    """:class:`helpers.train.History` of a language-model run; rows are evaluation steps.

    ``history["iter"]``, ``["train_loss"]`` (mean over the steps since the last
    evaluation), ``["val_loss"]`` (fixed slice), ``["lr"]``; ``tokens_per_second``
    counts training tokens over training time (evaluation excluded).
    """

    tokens_per_second: float = 0.0
    train_seconds: float = 0.0
    tokens_seen: int = 0

    def plot(self, axes=None):
        import matplotlib.pyplot as plt

        ax = axes if axes is not None else plt.subplots(figsize=(5.6, 3.6))[1]
        h = self.history
        ax.plot(h["iter"], h["train_loss"], label="训练 train")
        if "val_loss" in h:
            ax.plot(h["iter"], h["val_loss"], label="验证 validation")
        ax.set(xlabel="迭代步 iteration", ylabel="交叉熵 (nats/字符)", title="损失曲线")
        ax.legend()
        return ax.figure


def train_lm(model: nn.Module, train_data, val_data, *, max_iters: int, batch_size: int, lr: float,
             warmup: int = 100, min_lr: float | None = None, weight_decay: float = 0.1,
             betas: tuple[float, float] = (0.9, 0.95), grad_clip: float | None = 1.0,
             block_size: int | None = None, eval_interval: int | None = None, eval_windows: int = 64,
             embedding_lr_scale: float = 1.0, seed: int = 0, device=None, amp: bool = False, compile: bool = False,
             progress: bool | None = None, verbose: bool = True, max_rows: int = 10) -> LMHistory:
    """Train a next-token model (``model(x, y) -> (logits, loss)``) on random windows of ``train_data``.

    - ``train_data, val_data``: 1-D token-id arrays (tensor, array or list).
    - Optimiser: :func:`configure_optimizer` (``embedding_lr_scale`` multiplies the
      learning rate of the embeddings and the output layer); learning rate :func:`cosine_lr`
      (``min_lr`` defaults to ``lr / 10``); ``grad_clip`` caps the global gradient norm.
    - Every ``eval_interval`` steps (default ``max_iters // 10``) and at the end, the
      loss on the first ``eval_windows`` windows of ``val_data`` (:func:`fixed_windows`).
    - ``seed`` fixes the batches (a private ``torch.Generator``).
    - ``amp=True``: bfloat16 autocast (CUDA only); ``compile=True``: ``torch.compile`` the model.
    - ``progress``: tqdm bar (default when interactive), otherwise a table of at
      most ``max_rows`` evaluations; ``verbose=False`` prints nothing. The final
      line gives the throughput as milliseconds per 1,000 tokens
      (``history.tokens_per_second`` holds tokens/s).
    """
    # every argument is checked here, before the model is touched (a bad one never half-trains it)
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_int("max_iters", max_iters, min=1)
    check_int("batch_size", batch_size, min=1)
    check_int("warmup", warmup, min=0)
    check_float("lr", lr, min=0.0, min_inclusive=False)
    check_float("weight_decay", weight_decay, min=0.0)
    check_int("eval_windows", eval_windows, min=1)
    check_int("seed", seed)
    check_int("max_rows", max_rows, min=1)
    if warmup > max_iters:
        raise ValueError(f"warmup={warmup} must be between 0 and max_iters={max_iters}")
    if min_lr is not None:
        check_float("min_lr", min_lr, min=0.0)
    if grad_clip is not None:
        check_float("grad_clip", grad_clip, min=0.0, min_inclusive=False)
    if eval_interval is not None:
        check_int("eval_interval", eval_interval, min=1)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    if amp and device.type != "cuda":
        raise ValueError(f"amp=True (bfloat16 autocast) is for CUDA; the model is on {device.type}")
    config = getattr(model, "config", None)
    model_block = getattr(config, "block_size", None)
    if block_size is None:
        if model_block is None:
            raise ValueError("block_size=None needs a model with config.block_size; pass block_size=...")
        block_size = model_block
    check_int("block_size", block_size, min=1)
    if model_block is not None and block_size > model_block:
        raise ValueError(f"block_size={block_size} exceeds the model's config.block_size={model_block}; "
                         "pass a block_size <= the model's")
    vocab_size = getattr(config, "vocab_size", None)
    min_lr = lr / 10 if min_lr is None else min_lr
    eval_interval = eval_interval or max(1, max_iters // 10)
    train_data = _ids(train_data, "train_data", vocab_size)
    if len(train_data) <= block_size:
        raise ValueError(f"train_data has {len(train_data)} tokens, need more than block_size={block_size}")
    val_x, val_y = fixed_windows(_ids(val_data, "val_data", vocab_size), block_size, eval_windows)
    model.to(device)
    step_model = torch.compile(model) if compile else model  # pragma: no cover - exercised on GPU runs
    optimizer = configure_optimizer(model, lr, weight_decay, betas, embedding_lr_scale)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    gen = torch.Generator().manual_seed(seed)
    history = LMHistory()
    show_bar = verbose and (progress_enabled() if progress is None else progress)
    bar = _progress_bar(max_iters) if show_bar else None
    table = _Table(max_iters, eval_interval, max_rows) if verbose and not show_bar else None
    running, n_running, train_time, tokens = 0.0, 0, 0.0, 0
    model.train()
    for it in range(max_iters):
        t0 = time.perf_counter()
        lr_now = cosine_lr(it, lr=lr, warmup=warmup, max_iters=max_iters, min_lr=min_lr)
        for group in optimizer.param_groups:
            group["lr"] = lr_now * group["lr_scale"]
        x, y = get_batch(train_data, batch_size, block_size, gen, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            _, loss = step_model(x, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {it}; lower lr={lr}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        running += loss.item()
        n_running += 1
        if device.type == "cuda":  # pragma: no cover
            torch.cuda.synchronize()
        train_time += time.perf_counter() - t0
        tokens += x.numel()
        if bar is not None:
            bar.update(1)
        if (it + 1) % eval_interval == 0 or it + 1 == max_iters:
            row = {"iter": it + 1, "train_loss": running / n_running,
                   "val_loss": evaluate_lm(model, val_x, val_y, device=device, amp=amp),
                   "lr": lr_now}
            running, n_running = 0.0, 0
            history.append(row)
            if bar is not None:
                bar.set_postfix({k: f"{row[k]:.4g}" for k in ("train_loss", "val_loss")})
            elif table is not None:
                table.row(row)
    if bar is not None:
        bar.close()
    history.train_seconds, history.tokens_seen = train_time, tokens
    history.tokens_per_second = tokens / train_time if train_time > 0 else float("nan")
    if verbose:
        # Throughput as time per 1,000 tokens: a "<number> ms" that build tests can mask as a timing.
        print(f"trained {max_iters} iters ({tokens:,} tokens) in {train_time:.1f}s, "
              f"{1000 * train_time / tokens * 1000:.1f} ms per 1,000 tokens; final val_loss {history['val_loss'][-1]:.4f}")
    return history


def _progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="it", leave=True)


class _Table:
    """Prints at most ``max_rows`` evenly spaced evaluations (and the last one)."""

    def __init__(self, max_iters: int, eval_interval: int, max_rows: int):
        n_evals = math.ceil(max_iters / eval_interval)
        self.every, self.n_evals, self.seen = max(1, math.ceil(n_evals / max(1, max_rows))), n_evals, 0

    def row(self, row: dict) -> None:
        self.seen += 1
        if self.seen == 1:
            print(f"{'iter':>6s}  {'train_loss':>10s}  {'val_loss':>10s}  {'lr':>9s}")
        if self.seen == 1 or self.seen % self.every == 0 or self.seen == self.n_evals:
            print(f"{int(row['iter']):6d}  {row['train_loss']:10.4f}  {row['val_loss']:10.4f}  {row['lr']:9.2e}")

