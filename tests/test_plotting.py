"""Figure helpers label what they draw."""

import matplotlib

matplotlib.use("Agg")


def test_plot_history_prefixes_only_keys_with_a_validation_partner():
    import matplotlib.pyplot as plt

    from aigc_course.plotting import plot_history

    figure = plot_history({"loss": [3, 2], "val_loss": [3.5, 2.5], "accuracy": [0.1, 0.5]})
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels == ["训练 loss", "验证 loss", "accuracy"]
    plt.close(figure)

    figure = plot_history({"训练": [3, 2], "验证": [3.5, 2.5]})
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["训练", "验证"]
    plt.close(figure)
