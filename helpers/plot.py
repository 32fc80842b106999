"""The book's figure style, training curves, confusion matrices and decision boundaries.

``use_book_style()`` (called by ``helpers.setup``) sets a consistent style and
a font list that renders Chinese labels: Latin glyphs from DejaVu Sans, CJK
glyphs from the first CJK font found on the machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

# Font families that cover Chinese, in order of preference, and where
# Debian/Ubuntu, macOS and Windows put them.
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                "PingFang SC", "Heiti SC", "Microsoft YaHei", "SimHei")
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def find_cjk_font() -> str | None:
    """Family name of an installed CJK font, registering known font files with matplotlib.

    (matplotlib's font cache may predate the font's installation, so known
    files are added explicitly.)
    """
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for file in CJK_FONT_FILES:
        if Path(file).is_file():
            font_manager.fontManager.addfont(file)
            return font_manager.FontProperties(fname=file).get_name()
    return None


def install_cjk_font_on_colab() -> bool:
    """On Colab (Debian-based, root), install a small CJK font with apt-get.

    Colab images ship no Chinese font, so without this the figures' Chinese
    labels would be boxes. Does nothing elsewhere; returns True if it installed.
    """
    if "google.colab" not in sys.modules:
        return False
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "fonts-wqy-microhei"],
                            capture_output=True, text=True)
    return result.returncode == 0


def use_book_style() -> str | None:
    """Apply the book's matplotlib style; returns the CJK family used (None if none found).

    On Colab a missing CJK font is installed first (see ``install_cjk_font_on_colab``).
    """
    cjk = find_cjk_font()
    if cjk is None and install_cjk_font_on_colab():
        cjk = find_cjk_font()
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.frameon": False,
        # An explicit family list falls back per glyph: Latin from DejaVu, Chinese from the CJK font.
        "font.family": ["DejaVu Sans", cjk] if cjk else ["DejaVu Sans"],
        "axes.unicode_minus": False,
    })
    return cjk


def plot_history(history, axes=None):
    """Train/validation loss per epoch (left) and every logged metric (right).

    ``history``: a :class:`helpers.train.History`. Marks the restored best epoch
    when early stopping was used. Returns the figure.
    """
    h = getattr(history, "history", None)
    if not isinstance(h, dict) or "epoch" not in h or "train_loss" not in h:
        raise TypeError(f"history is a {type(history).__name__}; pass the helpers.train.History that fit() "
                        "returns (its .history needs 'epoch' and 'train_loss')")
    metric_names = sorted({k.removeprefix("val_").removeprefix("train_") for k in h}
                          - {"loss", "epoch", "lr"})
    n_panels = 2 if metric_names else 1
    if axes is None:
        fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 3.6), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        if len(axes) < n_panels:
            raise ValueError(f"axes holds {len(axes)} axes but this history needs {n_panels} "
                             "(loss and metrics); pass that many or axes=None")
        fig = axes[0].figure
    epochs = h["epoch"]
    ax = axes[0]
    ax.plot(epochs, h["train_loss"], label="训练 train")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], label="验证 validation")
    ax.set(xlabel="轮次 epoch", ylabel="损失 loss", title="损失曲线")
    if n_panels == 2:
        ax2 = axes[1]
        for name in metric_names:
            for split, style in (("train", "-"), ("val", "--")):
                key = f"{split}_{name}"
                if key in h:
                    ax2.plot(epochs, h[key], style, label=f"{split} {name}")
        ax2.set(xlabel="轮次 epoch", ylabel="指标 metric", title="评估指标")
        ax2.legend()
    if history.monitor is not None and history.best_epoch is not None:
        for a in axes[:n_panels]:
            a.axvline(history.best_epoch, color="grey", ls=":", label=f"最佳轮次 {history.best_epoch}")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, labels=None, ax=None, normalize: bool = False, title: str = "混淆矩阵"):
    """Heat map of a confusion matrix ``cm: (K, K)`` (rows: true class, columns: predicted).

    ``normalize=True`` shows each row as fractions of that true class. Returns the axes.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (K, K) matrix, got shape {cm.shape}")
    labels = list(range(len(cm))) if labels is None else list(labels)
    if len(labels) != len(cm):
        raise ValueError(f"{len(labels)} labels for a {len(cm)}x{len(cm)} matrix")
    values = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.7 * len(cm), 0.8 + 0.7 * len(cm)))
    ax.imshow(values, cmap="Blues", vmin=0)
    ax.grid(False)
    ticks = np.arange(len(cm))
    ax.set_xticks(ticks, [str(l) for l in labels])
    ax.set_yticks(ticks, [str(l) for l in labels])
    ax.set(xlabel="预测类别 predicted", ylabel="真实类别 true", title=title)
    threshold = values.max() / 2 if values.size else 0
    for i in range(len(cm)):
        for j in range(len(cm)):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if values[i, j] > threshold else "black")
    return ax


def plot_decision_boundary(predict_proba, X, y, ax=None, resolution: int = 200, padding: float = 0.5,
                           labels=None, title: str = "决策边界", xlabel: str = "$x_1$", ylabel: str = "$x_2$"):
    """Shade P(class 1) of a 2-feature classifier over a grid and mark the 0.5 contour.

    ``predict_proba``: a function ``(M, 2) float64 array -> (M,)`` probability of
    class 1 (0/1 labels also work). ``X: (N, 2)`` and ``y: (N,)`` (0/1) are drawn
    as points; the grid covers them with ``padding`` on each side. Returns the axes.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2) (two features to plot), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},), got {y.shape}")
    if resolution < 2:
        raise ValueError(f"resolution={resolution} must be >= 2")
    x1 = np.linspace(X[:, 0].min() - padding, X[:, 0].max() + padding, resolution)
    x2 = np.linspace(X[:, 1].min() - padding, X[:, 1].max() + padding, resolution)
    g1, g2 = np.meshgrid(x1, x2)
    grid = np.column_stack([g1.ravel(), g2.ravel()])             # (resolution**2, 2)
    p = np.asarray(predict_proba(grid), dtype=np.float64).reshape(-1)
    if p.shape != (len(grid),):
        raise ValueError(f"predict_proba returned {p.size} values for {len(grid)} grid points; "
                         "it must map (M, 2) -> (M,)")
    P = p.reshape(g1.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(g1, g2, P, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35, vmin=0, vmax=1)
    if P.min() < 0.5 < P.max():
        ax.contour(g1, g2, P, levels=[0.5], colors="k", linewidths=1.5)
    names = ["类别 0", "类别 1"] if labels is None else list(labels)
    for cls, color, marker in ((0, "tab:blue", "o"), (1, "tab:red", "^")):
        mask = y == cls
        ax.scatter(X[mask, 0], X[mask, 1], s=18, c=color, marker=marker, edgecolors="white",
                   linewidths=0.5, label=names[cls])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(x1[0], x1[-1]), ylim=(x2[0], x2[-1]))
    ax.legend(loc="best")
    return ax
