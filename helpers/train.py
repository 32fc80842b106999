"""A training loop a student can read in one sitting: ``fit`` and ``evaluate``::

    history = fit(model, train_loader, epochs=50, loss_fn=nn.CrossEntropyLoss(),
                  optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
                  val_loader=val_loader, metrics={"acc": accuracy}, patience=5)
    history.plot()

Each epoch: train on every batch, then (if ``val_loader``) evaluate. Metrics are
computed on the whole epoch's predictions, not averaged over batches (F1 of a
batch average is not the F1 of the data). With ``patience`` the loop stops when
the monitored value has not improved for that many epochs and puts the best
weights back into the model.

Progress: a tqdm bar when someone is watching; when the book is built
(``LLMBOOK_PROGRESS=none``) a compact table of at most ``max_rows`` epochs.

Data-parallel training (``torch.distributed``, e.g. in processes started by
``helpers.distributed.launch``): when a process group with several processes is
initialised, ``fit`` needs a train loader whose sampler is a
``DistributedSampler`` (it raises otherwise, instead of silently training every
rank on the same data) and calls its ``set_epoch`` every epoch. Losses and
metrics are summed over ranks (weighted by sample counts), so every rank logs
the values a single process would log on the combined data; the early-stopping
decision is rank 0's, broadcast to all; only rank 0 prints and writes the
checkpoint.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from ._validate import check_float, check_int, check_type
from .env import progress_enabled

Metric = Callable[[torch.Tensor, torch.Tensor], float]


def _check_target_shape(out: torch.Tensor, y: torch.Tensor) -> None:
    """Targets must fit the output: a float target (regression, BCE) has the output's shape; an integer
    target (class labels) has the output's shape without the class dimension, ``(B, C, ...) -> (B, ...)``
    with ``C >= 2``. Anything else would broadcast ((B, 1) - (B,) is (B, B)) and be silently wrong."""
    if y.is_floating_point():
        if out.shape != y.shape:
            raise ValueError(f"model output has shape {tuple(out.shape)} but the float target has shape "
                             f"{tuple(y.shape)}; make them equal (e.g. y.reshape(-1, 1)), otherwise the loss "
                             "broadcasts and is silently wrong")
        return
    labels = out.dim() == y.dim() + 1 and out.shape[0] == y.shape[0] and out.shape[2:] == y.shape[1:]
    if not labels or out.shape[1] < 2:
        raise ValueError(f"model output has shape {tuple(out.shape)} but the integer target has shape "
                         f"{tuple(y.shape)}: integer targets are class labels for (B, C) logits with C >= 2. "
                         "For regression pass float targets of the output's shape (e.g. "
                         "make_loader(X, y.astype('float32').reshape(-1, 1))), otherwise the loss broadcasts "
                         "and the model silently learns the mean")


def _check_fit_args(model, loader, name: str) -> None:
    check_type("model", model, nn.Module, "torch.nn.Module")
    if loader is None or isinstance(loader, (str, bytes, torch.Tensor)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"{name} is a {type(loader).__name__}; pass a DataLoader (e.g. helpers.make_loader(X, y))")


def _plain_number(x, kind=float):
    """A NumPy/tensor scalar as a Python ``kind``; other values unchanged (bools stay bools)."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        x = x.item()
    if isinstance(x, numbers.Real):
        return kind(x) if kind is int and float(x).is_integer() else float(x) if kind is float else x
    return x


def logits_to_labels(logits: torch.Tensor) -> torch.Tensor:
    """Predicted labels from model outputs.

    ``(B, C)`` with ``C >= 2`` -> argmax over classes; ``(B,)`` or ``(B, 1)``
    (one logit of a binary model) -> ``1`` where the logit is positive
    (probability > 0.5).
    """
    check_type("logits", logits, torch.Tensor, "tensor of model outputs")
    if logits.dim() == 0 or (not (logits.dim() == 2 and logits.shape[1] >= 2) and logits.numel() != len(logits)):
        raise ValueError(f"logits has shape {tuple(logits.shape)}; pass (B, C) class scores or (B,) / (B, 1) "
                         "binary logits")
    if logits.dim() == 2 and logits.shape[1] >= 2:
        return logits.argmax(1)
    return (logits.reshape(len(logits)) > 0).long()


@dataclass
class History:
    """Per-epoch record of a run: ``history.history["val_loss"]`` is a list over epochs.

    ``best_epoch`` (1-based) is the epoch whose weights the model holds when
    early stopping restored them; ``stopped_epoch`` the last epoch trained.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    monitor: str | None = None

    def append(self, row: Mapping[str, float]) -> None:
        for key, value in row.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.history.get("train_loss", []))

    def to_dict(self) -> dict:
        """Plain data (lists, floats, ints, str) that ``torch.load(weights_only=True)`` accepts.

        NumPy or tensor scalars become Python floats/ints; anything else that is
        not plain data is left for the caller's check (``save_checkpoint`` names it).
        """
        return {"history": {str(k): [_plain_number(x) for x in v] for k, v in self.history.items()},
                "best_epoch": _plain_number(self.best_epoch, int), "stopped_epoch": _plain_number(self.stopped_epoch, int),
                "monitor": self.monitor}

    @classmethod
    def from_dict(cls, d: Mapping) -> "History":
        return cls(history={k: list(v) for k, v in d["history"].items()}, best_epoch=d.get("best_epoch"),
                   stopped_epoch=d.get("stopped_epoch"), monitor=d.get("monitor"))

    def plot(self, axes=None):
        """Loss curves (left) and metric curves (right, if any). Returns the figure."""
        from .plot import plot_history

        return plot_history(self, axes=axes)


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn: nn.Module | None = None,
             metrics: Mapping[str, Metric] | None = None, device=None,
             predict: Callable[[torch.Tensor], torch.Tensor] = logits_to_labels) -> dict[str, float]:
    """Average loss and metrics of ``model`` over ``loader`` in eval mode.

    Returns ``{"loss": ..., name: value, ...}`` (``loss`` only with ``loss_fn``).
    With a ``DistributedSampler`` in a process group the ranks' parts are
    combined: every rank returns the values of the whole data set.
    """
    _check_fit_args(model, loader, "loader")
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    total, n, preds, targets = 0.0, 0, [], []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        if loss_fn is not None:
            _check_target_shape(out, y)
            total += loss_fn(out, y).item() * len(x)
        if metrics:
            preds.append(predict(out).cpu())
            targets.append(y.reshape(len(y), -1)[:, 0].long().cpu() if y.dim() > 1 else y.long().cpu())
        n += len(x)
    model.train(was_training)
    if _uses_distributed_sampler(loader):  # each rank saw a part: combine the parts
        total, n, targets, preds = _gather_epoch(total, n, targets, preds)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches (is the dataset empty?)")
    result = {}
    if loss_fn is not None:
        result["loss"] = total / n
    if metrics:
        y_true, y_pred = torch.cat(targets), torch.cat(preds)
        for name, fn in metrics.items():
            result[name] = float(fn(y_true, y_pred))
    return result


def fit(model: nn.Module, train_loader, *, epochs: int, loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer, val_loader=None,
        metrics: Mapping[str, Metric] | None = None, scheduler=None,
        patience: int | None = None, monitor: str | None = None, min_delta: float = 0.0,
        device=None, progress: bool | None = None, verbose: bool = True, max_rows: int = 10,
        predict: Callable[[torch.Tensor], torch.Tensor] = logits_to_labels, checkpoint=None) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its :class:`History`.

    - ``loss_fn(model(x), y)`` is minimised by ``optimizer``; ``scheduler.step()``
      runs once per epoch (``ReduceLROnPlateau`` gets the monitored value).
    - ``metrics``: ``{"acc": helpers.metrics.accuracy, ...}`` computed on train
      and validation predictions (``predict`` turns outputs into labels).
    - ``patience``: stop after that many epochs without improvement of
      ``monitor`` and restore the best weights. ``monitor`` defaults to
      ``"val_loss"`` with a ``val_loader``, else ``"train_loss"``; names ending in
      ``loss`` are minimised, others (e.g. ``"val_acc"``) maximised.
    - ``device``: where to train (default: where the model's parameters are).
    - ``progress``: tqdm bar (default: when interactive, see ``helpers.env``);
      otherwise a table of at most ``max_rows`` epochs. ``verbose=False``
      prints nothing at all (e.g. inside a hyper-parameter search).
    - ``checkpoint``: a path; whenever ``monitor`` improves, the model,
      optimizer and history are saved there (``helpers.save_checkpoint``).
    - Under ``torch.distributed`` (see the module docstring): the train loader
      must use a ``DistributedSampler``; logged values are those of the
      combined data; only rank 0 prints and saves. A
      ``DistributedDataParallel`` model is saved without its ``module.`` prefix.
    """
    _check_fit_args(model, train_loader, "train_loader")
    if val_loader is not None:
        _check_fit_args(model, val_loader, "val_loader")
    check_int("epochs", epochs, min=1)
    check_type("optimizer", optimizer, torch.optim.Optimizer, "torch.optim.Optimizer")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn is a {type(loss_fn).__name__}; pass a loss such as nn.CrossEntropyLoss()")
    check_float("min_delta", min_delta, min=0.0)
    check_int("max_rows", max_rows, min=1)
    if monitor is None:
        monitor = "val_loss" if val_loader is not None else "train_loss"
    check_type("monitor", monitor, str)
    if patience is not None and (val_loader is None and monitor.startswith("val_")):
        raise ValueError(f"early stopping on {monitor!r} needs a val_loader")
    if patience is not None:
        check_int("patience", patience, min=1)
    distributed = dist.is_available() and dist.is_initialized()
    if distributed and dist.get_world_size() > 1 and not _uses_distributed_sampler(train_loader):
        raise ValueError(f"fit runs in a process group of {dist.get_world_size()} processes but the train loader's "
                         f"sampler is {type(getattr(train_loader, 'sampler', None)).__name__}: every rank would train "
                         "on the same data; use DataLoader(dataset, sampler=DistributedSampler(dataset), ...)")
    main = not distributed or dist.get_rank() == 0
    verbose = verbose and main
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    metrics = dict(metrics or {})
    mode = "min" if monitor.endswith("loss") else "max"
    history = History(monitor=monitor if patience is not None else None)
    best_value, best_state, bad_epochs = None, None, 0
    show_bar = verbose and (progress_enabled() if progress is None else progress)
    bar = _progress_bar(epochs) if show_bar else None
    table = _SummaryTable(epochs, max_rows) if verbose and not show_bar else None
    start = time.perf_counter()

    for epoch in range(1, epochs + 1):
        if _uses_distributed_sampler(train_loader):
            train_loader.sampler.set_epoch(epoch - 1)  # a new shuffle each epoch, the same on every rank
        row = {"epoch": epoch, **_train_one_epoch(model, train_loader, loss_fn, optimizer, device, metrics, predict)}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics, device, predict)
            row.update({f"val_{k}": v for k, v in val.items()})
        row["lr"] = optimizer.param_groups[0]["lr"]
        history.append(row)
        if monitor not in row:
            raise KeyError(f"monitor={monitor!r} is not logged; available: {sorted(row)}")
        if scheduler is not None:
            plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            scheduler.step(row[monitor]) if plateau else scheduler.step()

        value = row[monitor]
        improved = best_value is None or (value < best_value - min_delta if mode == "min"
                                          else value > best_value + min_delta)
        if improved:
            best_value, bad_epochs, history.best_epoch = value, 0, epoch
            if patience is not None:
                best_state = copy.deepcopy(model.state_dict())
            if checkpoint is not None and main:
                from .checkpoint import save_checkpoint

                save_checkpoint(checkpoint, getattr(model, "module", model), optimizer, history)
        else:
            bad_epochs += 1
        history.stopped_epoch = epoch
        stop = patience is not None and bad_epochs >= patience
        if distributed:  # rank 0 decides; all ranks must stop at the same epoch or the next all-reduce hangs
            flag = torch.tensor([float(stop)])
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        if bar is not None:
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k.endswith("loss")})
            bar.update(1)
        elif table is not None:
            table.row(row, force=stop or epoch == epochs)
        if stop:
            break

    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elapsed = time.perf_counter() - start
    note = ""
    if patience is not None:
        note = (f"; early stopping restored epoch {history.best_epoch} "
                f"({monitor}={best_value:.4g})")
    if verbose:
        print(f"trained {history.stopped_epoch} epochs in {elapsed:.1f}s{note}")
    return history


def _train_one_epoch(model, loader, loss_fn, optimizer, device, metrics, predict) -> dict[str, float]:
    model.train()
    total, n, preds, targets = 0.0, 0, [], []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        _check_target_shape(out, y)
        loss = loss_fn(out, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at batch {n // max(len(x), 1)}; "
                                     "lower the learning rate or check the inputs for NaN/inf")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        n += len(x)
        if metrics:
            preds.append(predict(out.detach()).cpu())
            targets.append(y.reshape(len(y), -1)[:, 0].long().cpu() if y.dim() > 1 else y.long().cpu())
    if _uses_distributed_sampler(loader):
        total, n, targets, preds = _gather_epoch(total, n, targets, preds)
    if n == 0:
        raise ValueError("fit: train_loader yielded no batches (empty dataset, or drop_last with "
                         "fewer samples than batch_size)")
    row = {"train_loss": total / n}
    if metrics:
        y_true, y_pred = torch.cat(targets), torch.cat(preds)
        row.update({f"train_{k}": float(fn(y_true, y_pred)) for k, fn in metrics.items()})
    return row


def _uses_distributed_sampler(loader) -> bool:
    from torch.utils.data.distributed import DistributedSampler

    return (dist.is_available() and dist.is_initialized()
            and isinstance(getattr(loader, "sampler", None), DistributedSampler))


def _gather_epoch(total: float, n: int, targets: list, preds: list):
    """Sum of losses and sample counts over ranks; every rank's targets and predictions (for metrics)."""
    sums = torch.tensor([total, float(n)], dtype=torch.float64)
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    if targets:
        parts = [None] * dist.get_world_size()
        dist.all_gather_object(parts, (torch.cat(targets), torch.cat(preds)))
        targets, preds = [t for t, _ in parts], [p for _, p in parts]
    return sums[0].item(), int(sums[1].item()), targets, preds


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _progress_bar(epochs: int):
    from tqdm.auto import tqdm

    return tqdm(total=epochs, unit="epoch", leave=True)


class _SummaryTable:
    """Prints at most ``max_rows`` evenly spaced epochs (and the last one) as a table."""

    def __init__(self, epochs: int, max_rows: int):
        self.every = max(1, math.ceil(epochs / max(1, max_rows)))
        self.header_done = False

    def row(self, row: Mapping[str, float], force: bool = False) -> None:
        epoch = int(row["epoch"])
        if not (force or epoch == 1 or epoch % self.every == 0):
            return
        keys = [k for k in row if k not in ("epoch", "lr")]
        if not self.header_done:
            print("epoch  " + "  ".join(f"{k:>10s}" for k in keys))
            self.header_done = True
        print(f"{epoch:5d}  " + "  ".join(f"{row[k]:10.4f}" for k in keys))
