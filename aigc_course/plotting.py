"""Figures: a CJK font for Chinese titles, image grids and training curves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from aigc_course.atomic import replace_atomically
from aigc_course.errors import SettingsError

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # shipped by the mplfonts package (SIL Open Font License)
CJK_FONT_NAME = "Noto Sans CJK SC"


def use_chinese_font() -> str:
    """Register Noto Sans CJK SC with matplotlib and make it the default; return its name."""
    import matplotlib
    from matplotlib import font_manager

    import mplfonts

    font_path = Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE
    if not font_path.is_file():
        raise FileNotFoundError(f"{font_path} is missing: Chinese text would render as boxes. "
                                "Fix: pip install -r requirements.txt (it installs mplfonts).")
    font_manager.fontManager.addfont(str(font_path))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [CJK_FONT_NAME, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return CJK_FONT_NAME


def to_display(images, value_range=None) -> np.ndarray:
    """Images as float (N, H, W) in [0, 1], with or without a channel axis.

    uint8 images are always read as 0-255 (``value_range`` is for float images). Float images need their
    ``value_range`` said, e.g. ``(0, 1)`` or ``(-1, 1)`` (models that draw images carry theirs as
    ``model.value_range``): it is never guessed from the pixel values, which a dark or a bright batch
    would fool. Values outside the range are clipped.
    """
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype == np.uint8:
        return array.astype("float32") / 255.0
    if value_range is None:
        raise SettingsError(f"float images ({array.dtype}) need their value range: pass value_range=(0, 1) or "
                            "(-1, 1), e.g. value_range=model.value_range for a model's samples")
    low, high = (float(bound) for bound in value_range)
    if not high > low:
        raise SettingsError(f"value_range={value_range}: the upper bound must be above the lower one")
    return np.clip((array.astype("float32") - low) / (high - low), 0.0, 1.0)


def image_grid(images, ncols: int = 8, padding: int = 2, padding_value: float = 0.3, value_range=None) -> np.ndarray:
    """Tile N images into one 2-D array (rows of ``ncols``); separators are ``padding_value`` (light gray)."""
    tiles = to_display(images, value_range)
    count, height, width = tiles.shape
    nrows = -(-count // ncols)
    grid = np.full((nrows * (height + padding) + padding, ncols * (width + padding) + padding),
                   padding_value, dtype="float32")
    for index, tile in enumerate(tiles):
        row, col = divmod(index, ncols)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top:top + height, left:left + width] = tile
    return grid


def show_images(images, ncols: int = 8, title: str | None = None, ax=None, labels=None, value_range=None):
    """Show images as one grid (or, with ``labels``, each with its label above it)."""
    import matplotlib.pyplot as plt

    if labels is not None:
        tiles = to_display(images, value_range)
        nrows = -(-len(tiles) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows), squeeze=False)
        for axis in axes.flat:
            axis.axis("off")
        for axis, tile, label in zip(axes.flat, tiles, labels):
            axis.imshow(tile, cmap="gray_r", vmin=0, vmax=1)
            axis.set_title(str(label), fontsize=9)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.8, max(1, -(-len(images) // ncols)) * 0.8 + 0.4))
    ax.imshow(image_grid(images, ncols, value_range=value_range), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax.figure


def save_image_grid(images, path, ncols: int = 8, scale: int = 2, value_range=None) -> Path:
    """Write a PNG grid (black digits on white, enlarged ``scale`` times) atomically."""
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() not in Image.registered_extensions():
        raise SettingsError(f"--out {path}: the file name must end in an image format, e.g. .png or .jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = ((1.0 - image_grid(images, ncols, value_range=value_range)) * 255).round().astype("uint8")
    picture = Image.fromarray(pixels, mode="L")
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    partial = path.with_name(f"{path.stem}.part-{os.getpid()}{path.suffix}")  # same suffix: the same format
    try:
        picture.save(partial)
        replace_atomically(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def plot_history(history: dict, keys=None, title: str | None = None, ax=None, xlabel="轮次（epoch）"):
    """Plot training curves from a Keras ``History.history``-like dict.

    A key with a ``val_`` partner is drawn twice, labelled "训练 key" and "验证 key"; any other key is
    labelled with its own name, so ``{"训练": [...], "验证": [...]}`` reads as written.
    """
    import matplotlib.pyplot as plt

    keys = keys or [key for key in history if not key.startswith("val_")]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = history[key]
        steps = np.arange(1, len(values) + 1)
        paired = f"val_{key}" in history
        ax.plot(steps, values, marker="o", markersize=3, label=f"训练 {key}" if paired else key)
        if paired:
            ax.plot(steps, history[f"val_{key}"], marker="s", markersize=3, label=f"验证 {key}")
    ax.set_xlabel(xlabel)
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax.figure
