"""Data-parallel training on CPU: start ``world_size`` real processes joined by a gloo group::

    results = launch(ddp_train_steps, world_size=2, args=(state_dict, X, y, 5, "sgd", 0.1))
    # results[r] is what rank r returned

:func:`launch` starts the processes with ``torch.multiprocessing`` (start method
``spawn``), so ``fn`` must be importable - defined in a module such as this one,
not in a notebook cell, because spawn pickles it by name. Every process calls
``fn(rank, world_size, *args)`` inside a gloo process group that is initialised
through a file in a fresh temporary folder (``init_method="file://..."``): no
TCP port is fixed, so two launches running at the same time (e.g. under
``pytest -n 2``) never collide.

What each rank prints is captured to a file and, after the run, echoed by the
parent with a ``[rank r]`` prefix (output of child processes would otherwise be
lost in a notebook). A worker that raises makes :func:`launch` raise a
``RuntimeError`` that names the rank and carries its traceback. Starting the
processes costs seconds each on CPU, so several workers can share one launch
through :func:`run_each`.

Inside a worker: :func:`get_rank`, :func:`get_world_size`, :func:`is_main_process`
and :func:`all_reduce_mean` work with or without a process group (without one
they describe a single process), so the same code runs in a notebook and in a
worker.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import tempfile
import traceback
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from ._validate import check_float, check_int, check_type


def is_distributed() -> bool:
    """True inside an initialised process group (e.g. in a worker started by :func:`launch`)."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of processes in the group (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0: the process that prints, logs and writes checkpoints."""
    return get_rank() == 0


def _check_float_tensor(name: str, t) -> None:
    check_type(name, t, torch.Tensor, "tensor")
    if not (t.is_floating_point() or t.is_complex()):
        raise TypeError(f"{name} has dtype {t.dtype}; a mean needs a float tensor: pass {name}.float()")


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean of ``t`` over all ranks, returned on every rank (a copy; ``t`` is unchanged).

    This is what DDP does to gradients: ``g = (g_0 + ... + g_{W-1}) / W``.
    """
    _check_float_tensor("t", t)
    out = t.detach().clone()
    if is_distributed():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        out /= get_world_size()
    return out


def launch(fn, world_size: int = 2, args: tuple = (), echo: bool = True) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes; return ``[result_0, ...]``.

    - ``fn`` must be importable (a module-level function, not a notebook cell).
    - Every rank gets its own copy of ``args`` (tensors are not shared).
    - Results are passed back with ``torch.save``: tensors, dicts, lists and
      numbers are fine.
    - ``echo``: print what each rank printed, prefixed ``[rank r]``.
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size={world_size!r} must be a positive int")
    if getattr(fn, "__module__", None) == "__main__" or "<locals>" in getattr(fn, "__qualname__", ""):
        raise ValueError(f"fn={getattr(fn, '__qualname__', fn)!r} is defined in a notebook, script or function; "
                         "spawned processes cannot import it - put it in a module (e.g. helpers.distributed)")
    workdir = Path(tempfile.mkdtemp(prefix="llmbook_dist_"))
    try:
        try:
            mp.spawn(run_rank, args=(fn, world_size, str(workdir), args), nprocs=world_size, join=True)
        except mp.ProcessExitedException as e:  # pragma: no cover - killed, or exited without an exception
            raise RuntimeError(f"launch: a worker process died ({e})") from None
        except mp.ProcessRaisedException:
            pass  # the worker wrote its traceback; reported below with the rank that failed
        outputs = [_read_text(workdir / f"stdout_{r}.txt") for r in range(world_size)]
        if echo:
            _echo(outputs)
        for r in range(world_size):
            error = workdir / f"error_{r}.txt"
            if error.exists():
                raise RuntimeError(f"launch: rank {r} of {world_size} raised an exception in "
                                   f"{fn.__qualname__}:\n{error.read_text()}")
        return [torch.load(workdir / f"result_{r}.pt", weights_only=False) for r in range(world_size)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_rank(rank: int, fn, world_size: int, workdir: str, args: tuple = ()) -> None:
    """What one process does: join the group, run ``fn``, save its result, leave the group.

    :func:`launch` calls it in each spawned process; calling it directly with
    ``world_size=1`` runs the same steps in the current process (used by tests).
    Output goes to ``workdir/stdout_{rank}.txt``, the result to
    ``result_{rank}.pt``, an exception's traceback to ``error_{rank}.txt``
    (then it is raised again).
    """
    workdir = Path(workdir)
    # torch.multiprocessing passes tensors through shared memory: without a copy, all ranks would
    # update the very same weights. Each rank gets its own copy, as on separate machines.
    args = copy.deepcopy(args)
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)  # W processes share the cores; more threads would oversubscribe them
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            dist.init_process_group("gloo", init_method=(workdir / "store").as_uri(),
                                    rank=rank, world_size=world_size)
            try:
                result = fn(rank, world_size, *args)
            finally:
                dist.destroy_process_group()
        torch.save(result, workdir / f"result_{rank}.pt")
    except BaseException:
        (workdir / f"error_{rank}.txt").write_text(traceback.format_exc())
        raise
    finally:
        (workdir / f"stdout_{rank}.txt").write_text(buffer.getvalue())


def _read_text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _echo(outputs: list[str]) -> None:
    for rank, text in enumerate(outputs):
        for line in text.splitlines():
            print(f"[rank {rank}] {line}")


# ---------------------------------------------------------------------------
# Workers used by the lesson and the tests (importable, hence here).
# ---------------------------------------------------------------------------

def run_each(rank: int, world_size: int, calls) -> list:
    """Several workers in one :func:`launch`: ``calls = [(fn, args), ...]`` -> ``[fn(rank, world_size, *args), ...]``.

    Starting the processes is the expensive part of a launch on CPU (each one
    imports PyTorch, joins the group and builds DDP: seconds per process), so
    several experiments share one launch::

        per_rank = launch(run_each, 2, args=([(ddp_train_steps, (...)), (ddp_fit, (...))],))
        # per_rank[r][i]: what calls[i] returned on rank r

    The calls run in order, in the same process group; every ``fn`` must be
    importable, like the ``fn`` of :func:`launch`.
    """
    _check_rank(rank, world_size)
    check_type("calls", calls, (list, tuple), "list of (fn, args) pairs")
    for i, call in enumerate(calls):
        if not (isinstance(call, (list, tuple)) and len(call) == 2 and callable(call[0])
                and isinstance(call[1], (list, tuple))):
            raise ValueError(f"calls[{i}]={call!r} is not a (fn, args) pair: "
                             "pass e.g. (ddp_train_steps, (model, X, y, 5))")
    return [fn(rank, world_size, *args) for fn, args in calls]


def _check_steps(rank, world_size, X, y, steps) -> None:
    _check_rank(rank, world_size)
    check_int("steps", steps, min=1)
    check_type("X", X, torch.Tensor, "tensor (steps, B, ...)")
    check_type("y", y, torch.Tensor, "tensor (steps, B)")
    if X.dim() < 2 or len(X) < steps or tuple(y.shape[:2]) != tuple(X.shape[:2]):
        raise ValueError(f"X must have shape (steps={steps} or more, B, ...) and y (steps, B); "
                         f"got X {tuple(X.shape)}, y {tuple(y.shape)}")


def _check_rank(rank, world_size) -> None:
    check_int("world_size", world_size, min=1)
    check_int("rank", rank, min=0)
    if rank >= world_size:
        raise ValueError(f"rank={rank} must be < world_size={world_size} (ranks are 0..world_size-1)")


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """``"sgd"`` or ``"adam"`` with learning rate ``lr``."""
    check_float("lr", lr, min=0.0, min_inclusive=False)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer={name!r} is not 'sgd' or 'adam'")


def ddp_train_steps(rank: int, world_size: int, model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                    steps: int, optimizer: str = "sgd", lr: float = 0.1) -> dict[str, torch.Tensor]:
    """``steps`` DDP updates of a copy of ``model`` on this rank's shard; returns its final ``state_dict``.

    ``X: (steps, B, ...)``, ``y: (steps, B)`` are the *combined* batches, one per
    step; rank ``r`` trains on rows ``r::world_size`` of each (``B`` must be a
    multiple of ``world_size``, so every rank has ``B / world_size`` samples and
    the average of the ranks' mean-loss gradients is the combined batch's
    gradient). Loss: cross-entropy.
    """
    _check_steps(rank, world_size, X, y, steps)
    if X.shape[1] % world_size:
        raise ValueError(f"batch size {X.shape[1]} is not a multiple of world_size={world_size}")
    ddp = nn.parallel.DistributedDataParallel(model)  # broadcasts rank 0's weights to all ranks
    opt = make_optimizer(optimizer, ddp.parameters(), lr)
    for step in range(steps):
        xb, yb = X[step, rank::world_size], y[step, rank::world_size]
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(ddp(xb), yb).backward()  # backward all-reduces (averages) the gradients
        opt.step()
    return {k: v.detach().clone() for k, v in ddp.module.state_dict().items()}


def ddp_fit(rank: int, world_size: int, model: nn.Module, X: torch.Tensor, y: torch.Tensor,
            batch_size: int, epochs: int, lr: float = 0.1, shuffle: bool = False,
            fit_kwargs: dict | None = None) -> dict:
    """``helpers.fit`` under DDP, each rank on its part of ``(X: (N, ...), y: (N,))``; returns a summary.

    The loader uses a ``DistributedSampler`` (``fit`` requires one and calls its
    ``set_epoch``). ``batch_size`` is per rank: the combined batch is
    ``world_size * batch_size``. SGD with ``lr``, cross-entropy loss.
    Returns ``{"history": History.to_dict(), "state": the final state_dict}``.
    """
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    from .train import fit

    _check_rank(rank, world_size)
    check_type("model", model, nn.Module, "torch.nn.Module")
    check_type("X", X, torch.Tensor, "tensor (N, ...)")
    check_type("y", y, torch.Tensor, "tensor (N,)")
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass the same, non-zero number of samples")
    check_int("batch_size", batch_size, min=1)
    check_int("epochs", epochs, min=1)
    check_float("lr", lr, min=0.0, min_inclusive=False)
    dataset = TensorDataset(X, y)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=0)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)
    ddp = nn.parallel.DistributedDataParallel(model)
    history = fit(ddp, loader, epochs=epochs, loss_fn=nn.CrossEntropyLoss(),
                  optimizer=torch.optim.SGD(ddp.parameters(), lr=lr), progress=False, **(fit_kwargs or {}))
    return {"history": history.to_dict(), "state": {k: v.clone() for k, v in ddp.module.state_dict().items()}}


def seen_indices(rank: int, world_size: int, n: int, epochs: int, use_sampler: bool = True,
                 set_epoch: bool = True, batch_size: int = 4) -> list[list[int]]:
    """Which sample indices this rank's shuffled loader yields in each epoch (no training).

    Shows the two classic mistakes: ``use_sampler=False`` (a plain shuffled
    loader: every rank sees all ``n`` samples, in the same order) and
    ``set_epoch=False`` (the sampler reshuffles identically every epoch).
    """
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    _check_rank(rank, world_size)
    check_int("n", n, min=1)
    check_int("epochs", epochs, min=0)
    check_int("batch_size", batch_size, min=1)
    data = torch.arange(n)
    if use_sampler:
        sampler = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
        loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
    else:
        sampler = None
        loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    epochs_seen = []
    for epoch in range(epochs):
        if sampler is not None and set_epoch:
            sampler.set_epoch(epoch)
        epochs_seen.append(torch.cat(list(loader)).tolist())
    return epochs_seen


def sampler_pitfalls(rank: int, world_size: int, n: int = 8, epochs: int = 2) -> dict[str, list[list[int]]]:
    """:func:`seen_indices` three ways in one launch: ``"correct"``, ``"no_sampler"``, ``"no_set_epoch"``."""
    _check_rank(rank, world_size)
    check_int("n", n, min=1)
    check_int("epochs", epochs, min=0)
    return {"correct": seen_indices(rank, world_size, n, epochs),
            "no_sampler": seen_indices(rank, world_size, n, epochs, use_sampler=False),
            "no_set_epoch": seen_indices(rank, world_size, n, epochs, set_epoch=False)}
