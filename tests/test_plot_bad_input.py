"""Bad input to helpers.plot.plot_history raises an error naming the argument."""

import matplotlib.pyplot as plt
import pytest

from helpers import History
from helpers import plot as hp


def test_plot_history_refuses_a_dict_and_too_few_axes():
    with pytest.raises(TypeError, match="history is a dict; pass the helpers.train.History"):
        hp.plot_history({"epoch": [1], "train_loss": [1.0]})
    hist = History()
    hist.append({"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 0.5, "val_acc": 0.4})
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="axes holds 1 axes but this history needs 2"):
            hp.plot_history(hist, axes=ax)
    finally:
        plt.close(fig)
