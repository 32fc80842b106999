"""helpers.plot: style with a CJK font, history and confusion-matrix figures."""

import sys
import types
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import History
from helpers import plot as hp


def _render(fig):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        fig.canvas.draw()


def test_book_style_renders_chinese_without_missing_glyphs():
    family = hp.use_book_style()
    if family is None:
        pytest.skip("no CJK font installed (make setup installs fonts-wqy-microhei)")
    fig, ax = plt.subplots()
    ax.set(title="损失曲线 loss", xlabel="轮次", ylabel="准确率")
    _render(fig)
    plt.close(fig)


def test_plot_history_draws_loss_metrics_and_best_epoch():
    hist = History(monitor="val_loss", best_epoch=2)
    for e, (tl, vl, ta, va) in enumerate([(1.0, 1.1, 0.5, 0.4), (0.5, 0.7, 0.8, 0.7), (0.3, 0.8, 0.9, 0.6)], 1):
        hist.append({"epoch": e, "train_loss": tl, "val_loss": vl, "train_acc": ta, "val_acc": va, "lr": 0.1})
    fig = hist.plot()
    loss_ax, metric_ax = fig.axes
    assert [tuple(line.get_ydata()) for line in loss_ax.lines[:2]] == [(1.0, 0.5, 0.3), (1.1, 0.7, 0.8)]
    assert {line.get_label() for line in metric_ax.lines} >= {"train acc", "val acc"}
    assert loss_ax.lines[-1].get_xdata()[0] == 2  # best-epoch marker
    _render(fig)
    plt.close(fig)
    only_loss = History()
    only_loss.append({"epoch": 1, "train_loss": 0.4, "lr": 0.1})
    fig2 = hp.plot_history(only_loss)
    assert len(fig2.axes) == 1
    plt.close(fig2)


def test_confusion_matrix_plot_values_and_errors():
    cm = np.array([[5, 1], [2, 7]])
    ax = hp.plot_confusion_matrix(cm, labels=["良性", "恶性"])
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    ax2 = hp.plot_confusion_matrix(cm, normalize=True)
    assert ax2.texts[0].get_text() == f"{5 / 6:.2f}"
    plt.close("all")
    with pytest.raises(ValueError, match="square"):
        hp.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 labels for a 2x2 matrix"):
        hp.plot_confusion_matrix(cm, labels=["a", "b", "c"])


def test_font_lookup_registers_a_known_file_or_reports_none(monkeypatch, tmp_path):
    monkeypatch.setattr(hp, "CJK_FAMILIES", ("No Such Family",))
    monkeypatch.setattr(hp, "CJK_FONT_FILES", (str(tmp_path / "missing.ttc"),))
    assert hp.find_cjk_font() is None
    existing = [f for f in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",) if __import__("os").path.exists(f)]
    if existing:
        monkeypatch.setattr(hp, "CJK_FONT_FILES", tuple(existing))
        assert hp.find_cjk_font() == "WenQuanYi Micro Hei"


def test_plot_history_into_given_axes():
    hist = History()
    hist.append({"epoch": 1, "train_loss": 0.4, "train_acc": 0.5, "lr": 0.1})
    fig, axes = plt.subplots(1, 2)
    assert hp.plot_history(hist, axes=axes) is fig
    assert axes[0].lines and axes[1].lines
    plt.close(fig)


def test_colab_font_install_runs_apt_get_only_on_colab(monkeypatch):
    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(hp.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or Done())
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert hp.install_cjk_font_on_colab() is False and calls == []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert hp.install_cjk_font_on_colab() is True
    assert calls == [["apt-get", "install", "-y", "-qq", "fonts-wqy-microhei"]]


def test_book_style_installs_a_font_when_none_is_found(monkeypatch):
    found = iter([None, "WenQuanYi Micro Hei"])
    monkeypatch.setattr(hp, "find_cjk_font", lambda: next(found))
    monkeypatch.setattr(hp, "install_cjk_font_on_colab", lambda: True)
    assert hp.use_book_style() == "WenQuanYi Micro Hei"
    assert plt.rcParams["font.family"] == ["DejaVu Sans", "WenQuanYi Micro Hei"]


def test_decision_boundary_shades_probabilities_and_draws_the_half_contour():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    calls = []

    def proba(grid):
        calls.append(grid.shape)
        return 1 / (1 + np.exp(-3 * grid[:, 0]))

    ax = hp.plot_decision_boundary(proba, X, y, resolution=30, labels=["负", "正"], title="边界")
    assert calls == [(900, 2)]
    assert len(ax.collections) >= 3                 # filled contours, 0.5 line, two scatters
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["负", "正"]
    assert ax.get_xlim()[0] == pytest.approx(X[:, 0].min() - 0.5)
    _render(ax.figure)
    plt.close("all")
    _, ax2 = plt.subplots()
    assert hp.plot_decision_boundary(lambda g: np.zeros(len(g)), X, y, ax=ax2) is ax2  # no 0.5 crossing
    plt.close("all")


def test_decision_boundary_errors():
    X, y = np.zeros((5, 2)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        hp.plot_decision_boundary(lambda g: g[:, 0], np.zeros((5, 3)), y)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        hp.plot_decision_boundary(lambda g: g[:, 0], X, y[:3])
    with pytest.raises(ValueError, match="resolution=1"):
        hp.plot_decision_boundary(lambda g: g[:, 0], X, y, resolution=1)
    with pytest.raises(ValueError, match=r"\(M, 2\) -> \(M,\)"):
        hp.plot_decision_boundary(lambda g: g, X, y)
    plt.close("all")
