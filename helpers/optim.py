"""Optimisers written from their update equations: SGD (momentum, Nesterov), Adam, AdamW.

Each class subclasses ``torch.optim.Optimizer``, so it has ``zero_grad()``,
``param_groups``, ``state_dict()`` and works with ``torch.optim.lr_scheduler``,
exactly like the built-in it re-implements::

    opt = helpers.optim.Adam(model.parameters(), lr=1e-3)
    loss.backward(); opt.step(); opt.zero_grad()

Only ``step()`` is written here, one parameter tensor at a time, as the
formulas read (``g`` is the gradient, ``t`` the step count, ``lambda`` the
weight decay):

- ``SGD``:   ``g <- g + lambda*p``;  with momentum ``b <- mu*b + (1 - dampening)*g``
  (``b = g`` at the first step), then ``g <- b`` or, with Nesterov, ``g <- g + mu*b``;
  ``p <- p - lr*g``.
- ``Adam``:  ``g <- g + lambda*p`` (L2 penalty added to the gradient);
  ``m <- b1*m + (1-b1)*g``, ``v <- b2*v + (1-b2)*g^2``,
  ``p <- p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
  With ``amsgrad`` the running maximum of ``v`` replaces ``v`` in the denominator.
- ``AdamW``: decoupled weight decay ``p <- p - lr*lambda*p`` first, then the Adam
  step on the raw gradient.

These are the semantics of ``torch.optim.SGD/Adam/AdamW`` (same defaults,
same placement of ``eps``), which ``tests/test_optim.py`` checks to 1e-6.
Features of the built-ins that teach nothing new (``maximize``, ``foreach``,
``fused``, complex parameters, sparse gradients) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

Params = Iterable[torch.Tensor] | Iterable[dict]


def _check_lr(lr: float) -> None:
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr >= 0:
        raise ValueError(f"lr={lr!r}: the learning rate must be a number >= 0 (e.g. lr=0.01)")


def _check_weight_decay(weight_decay: float) -> None:
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay={weight_decay!r} must be >= 0 (0 turns it off)")


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    ``SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)``;
    ``momentum`` is ``mu`` in ``b <- mu*b + (1 - dampening)*g``.
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        _check_lr(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum={momentum!r} must be in [0, 1) (0.9 is the usual choice)")
        if not 0 <= dampening <= 1:
            raise ValueError(f"dampening={dampening!r} must be in [0, 1]")
        _check_weight_decay(weight_decay)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, "
                             f"got momentum={momentum}, dampening={dampening}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One update of every parameter that has a gradient. Returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * p                   # L2 penalty (lambda/2)*||p||^2
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = g.clone()      # first step: b = g
                    else:
                        buf = state["momentum_buffer"]
                        buf.mul_(mu).add_(g, alpha=1 - damp)           # b <- mu*b + (1-dampening)*g
                    g = g + mu * buf if group["nesterov"] else buf     # look ahead along b
                p.add_(g, alpha=-lr)                                   # p <- p - lr*g
        return loss


class Adam(torch.optim.Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction; ``weight_decay`` adds ``lambda*p`` to the gradient.

    ``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.
    """

    decoupled = False  # AdamW sets True: decay the weights directly instead of through the gradient

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        _check_lr(lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2 and all(0 <= b < 1 for b in betas)):
            raise ValueError(f"betas={betas!r}: need two numbers in [0, 1), e.g. betas=(0.9, 0.999)")
        if not eps >= 0:
            raise ValueError(f"eps={eps!r} must be >= 0 (e.g. 1e-8)")
        _check_weight_decay(weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One update of every parameter that has a gradient. Returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)              # m: first moment
                    state["exp_avg_sq"] = torch.zeros_like(p)           # v: second moment
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]

                if wd != 0:
                    if self.decoupled:
                        p.mul_(1 - lr * wd)                             # AdamW: shrink p directly
                    else:
                        g = g + wd * p                                  # Adam: L2 penalty in the gradient
                m.mul_(beta1).add_(g, alpha=1 - beta1)                  # m <- b1*m + (1-b1)*g
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)           # v <- b2*v + (1-b2)*g^2
                if group["amsgrad"]:
                    torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v = state["max_exp_avg_sq"]
                bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t           # bias corrections
                denom = v.sqrt() / math.sqrt(bias2) + eps               # sqrt(v_hat) + eps
                p.addcdiv_(m, denom, value=-lr / bias1)                 # p <- p - lr * m_hat / denom
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p <- p - lr*lambda*p``, then Adam.

    Same arguments as :class:`Adam`; ``weight_decay`` defaults to ``1e-2`` as in ``torch.optim.AdamW``.
    """

    decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
