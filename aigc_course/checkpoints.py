"""Saving and loading weights safely: atomic writes, a JSON card per checkpoint, clear mismatch errors."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from aigc_course.atomic import replace_atomically
from aigc_course.errors import CheckpointError

SHIPPED_DIR = Path(__file__).parent / "weights"


def shipped_path(name: str) -> Path:
    """Where the package keeps the shipped weights of model ``name``."""
    return SHIPPED_DIR / f"{name}.weights.h5"


def card_path(weights_path: Path) -> Path:
    """The JSON card beside a weights file: ``x.weights.h5`` -> ``x.json``."""
    weights_path = Path(weights_path)
    return weights_path.with_name(weights_path.name.removesuffix(".weights.h5") + ".json")


def write_json_atomic(path: Path, payload: dict) -> None:
    path = Path(path)
    partial = path.with_name(path.name + f".part-{os.getpid()}")
    partial.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    replace_atomically(partial, path)


def save_weights_atomic(model, path: Path, include_optimizer: bool = True) -> Path:
    """Save weights to a temporary file, then rename: a crash never leaves half a file.

    With ``include_optimizer=False`` (shipped checkpoints) the optimizer state is left out, which
    makes the file about three times smaller for Adam.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name.removesuffix(".weights.h5") + f".part-{os.getpid()}.weights.h5")
    try:
        if include_optimizer:
            model.save_weights(partial)
        else:
            from keras.src.saving import saving_lib  # public save_weights has no switch for this

            optimizers = [value for value in vars(model).values() if _is_optimizer(value)]
            saving_lib.save_weights_only(model, str(partial), objects_to_skip=optimizers)
        replace_atomically(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return path


def _is_optimizer(value) -> bool:
    import keras

    return isinstance(value, keras.optimizers.Optimizer)


def save_checkpoint(model, path: Path, name: str, card: dict) -> Path:
    """Save the model's weights (no optimizer state) and their card (``{"model": name, ...}``) atomically."""
    path = save_weights_atomic(model, path, include_optimizer=False)
    write_json_atomic(card_path(path), {"model": name, **card})
    return path


def read_card(weights_path: Path) -> dict | None:
    card = card_path(weights_path)
    return json.loads(card.read_text(encoding="utf-8")) if card.is_file() else None


def load_checkpoint(model, path: Path, name: str) -> dict:
    """Load weights saved for model ``name`` into ``model``; return the card (or {})."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}. Fix: train it with "
                              f"`python -m aigc_course train {name}`, or pass the right --weights path.")
    card = read_card(path) or {}
    saved_for = card.get("model")
    if saved_for is not None and saved_for != name:
        raise CheckpointError(f"{path} is a checkpoint of {saved_for!r}, not of {name!r}. Fix: use "
                              f"`--weights` with a checkpoint trained for {name!r}, or choose the model {saved_for!r}.")
    try:
        with warnings.catch_warnings():  # a final checkpoint has no optimizer state, on purpose
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(path)
    except (ValueError, KeyError, OSError) as error:
        raise CheckpointError(f"{path} does not fit the model {name!r} ({error}). Fix: it was saved "
                              f"for another architecture; retrain with `python -m aigc_course train {name}`.") from error
    return card
