"""Save and load training state: model weights, optimizer state and history.

A checkpoint is one ``torch.save`` file holding only tensors and plain data, so
it loads with ``torch.load(weights_only=True)`` (no arbitrary code runs on
load). It is written to a temporary file in the same folder and then renamed
(``os.replace``): an interrupted save never leaves a truncated file under the
final name.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from ._validate import check_type
from .atomic import atomic_path
from .train import History

FORMAT_VERSION = 1


def save_checkpoint(path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    history: History | None = None, extra: dict | None = None) -> Path:
    """Write ``model`` (and optionally ``optimizer``, ``history``, ``extra``) to ``path`` atomically.

    ``extra`` must hold only tensors and plain Python data (e.g. a
    ``Standardizer.state_dict()``, a config dict). Returns the path.
    """
    path = Path(path)
    check_type("model", model, nn.Module, "torch.nn.Module")
    if optimizer is not None:
        check_type("optimizer", optimizer, torch.optim.Optimizer, "torch.optim.Optimizer or None")
    if history is not None:
        check_type("history", history, History, "helpers.History or None")
    if extra is not None:
        check_type("extra", extra, dict, "dict or None")
    history_dict = history.to_dict() if history is not None else None
    _check_plain(extra or {}, "extra")
    _check_plain(history_dict, "history")   # what weights_only loading would refuse, refused now
    state = {
        "format_version": FORMAT_VERSION,
        "model_class": type(model).__name__,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history_dict,
        "extra": extra or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
    return path


def read_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint without a model: ``{"model_class", "model", "optimizer", "history", "extra"}``.

    Useful to read ``extra`` (e.g. the architecture's config) before building
    the model that :func:`load_checkpoint` fills. Loads with ``weights_only=True``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated or foreign file
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} was not written by helpers.save_checkpoint (format {FORMAT_VERSION})")
    return state


def load_checkpoint(path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` when the
    checkpoint belongs to a different model (class, parameter names or shapes).
    Returns ``{"history": History | None, "extra": dict}``.
    """
    check_type("model", model, nn.Module, "torch.nn.Module")
    if optimizer is not None:
        check_type("optimizer", optimizer, torch.optim.Optimizer, "torch.optim.Optimizer or None")
    path = Path(path)
    state = read_checkpoint(path, map_location)
    # every check first: a failing load leaves the model and the optimizer as they were
    _check_compatible(path, state, model)
    if optimizer is not None:
        _check_optimizer(path, state["optimizer"], optimizer)
    history = History.from_dict(state["history"]) if state["history"] is not None else None
    model_backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimizer_backup = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
    except Exception as e:  # anything the checks above did not foresee: undo, then report
        model.load_state_dict(model_backup)
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_backup)
        raise ValueError(f"{path} could not be loaded into this {type(model).__name__} "
                         f"({type(e).__name__}: {e}); nothing was changed") from e
    return {"history": history, "extra": state["extra"]}


_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


def _check_plain(value, where: str) -> None:
    """Reject what ``torch.load(weights_only=True)`` would refuse later (NumPy values, objects)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where} has a key of type {type(k).__name__}; use str or int keys")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    elif type(value) not in _PLAIN and not isinstance(value, torch.Tensor):
        raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__name__}; checkpoints hold only "
                        "tensors and plain Python data (convert NumPy values with .tolist() or torch.as_tensor)")


def _check_compatible(path: Path, state: dict, model: nn.Module) -> None:
    name = type(model).__name__
    if state["model_class"] != name:
        raise ValueError(f"{path} holds a {state['model_class']}, not a {name}")
    saved, current = state["model"], model.state_dict()
    missing = sorted(set(current) - set(saved))
    unexpected = sorted(set(saved) - set(current))
    shapes = [f"{k}: saved {tuple(saved[k].shape)} vs model {tuple(current[k].shape)}"
              for k in sorted(set(saved) & set(current)) if saved[k].shape != current[k].shape]
    if missing or unexpected or shapes:
        details = "; ".join(filter(None, [
            f"missing {missing}" if missing else "",
            f"unexpected {unexpected}" if unexpected else "",
            "shape mismatch " + ", ".join(shapes) if shapes else "",
        ]))
        raise ValueError(f"{path} was saved from a different {name} architecture: {details}")
    # Tied parameters (one tensor under two names, e.g. GPT's wte and lm_head): loading two different
    # saved matrices into one tensor would keep only the last and silently lose the other.
    by_storage: dict[tuple, list[str]] = {}
    for k, v in current.items():
        if v.numel():
            by_storage.setdefault((v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape)), []).append(k)
    for names in by_storage.values():
        first = names[0]
        for other in names[1:]:
            if not torch.equal(saved[first], saved[other]):
                raise ValueError(f"this {name} shares one tensor between {other} and {first} (tied weights), "
                                 f"but in {path} they differ (saved from an untied model); build the model "
                                 "untied (e.g. GPTConfig(..., tie_weights=False)) to load it")


def _check_optimizer(path: Path, saved: dict | None, optimizer: torch.optim.Optimizer) -> None:
    """The saved optimizer state must fit ``optimizer``: same groups, same number of parameters in each."""
    if saved is None:
        raise ValueError(f"{path} holds no optimizer state; load it without optimizer=... or save one")
    mine = [len(g["params"]) for g in optimizer.state_dict()["param_groups"]]
    theirs = [len(g["params"]) for g in saved.get("param_groups", [])]
    if mine != theirs:
        raise ValueError(f"{path}: the saved optimizer has parameter groups of sizes {theirs}, this "
                         f"{type(optimizer).__name__} has {mine}; build the optimizer over the same "
                         "parameters (in the same groups) as when it was saved")
