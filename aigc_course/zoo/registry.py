"""The registry of named models: what an entry is, how it is looked up, loaded and evaluated."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from aigc_course.errors import CourseError


@dataclass(frozen=True)
class Epochs:
    """How many epochs ``train`` runs by default: in normal mode and in quick mode (``AIGC_QUICK=1``)."""

    normal: int
    quick: int = 1


@dataclass(frozen=True)
class GenerateOptions:
    """What ``generate`` was asked for (the CLI fills it from its options; every field has a default)."""

    n: int | None = None              # samples: None = the model's default (images 64, texts 3)
    out: str = "samples.png"          # image models: where the grid goes
    prompt: str | None = None         # text models: the start of the text
    length: int = 200                 # text models: characters to generate
    strategy: str = "top_p"
    temperature: float = 1.0
    top_k: int = 40
    top_p: float = 0.9
    beam_width: int = 4
    repetition_penalty: float = 1.0
    digit: int | None = None          # class-conditional image models
    steps: int = 50                   # diffusion: denoising steps
    eta: float = 0.0                  # diffusion: 0 = DDIM, 1 with 1000 steps = DDPM
    guidance: float = 2.0             # diffusion with a digit: classifier-free guidance scale
    seed: int = 42


@dataclass(frozen=True)
class ModelEntry:
    """One named model and everything the CLI, the gallery and the tests do with it.

    ``build(for_check=False)`` returns the compiled model; ``build(for_check=True)`` the same architecture
    with every random draw made a fixed function of the batch (no dropout, fixed noise) and plain SGD, so
    one distributed training step can be compared exactly with a single-device step (SGD, unlike Adam,
    shows a wrongly scaled loss). ``train(epochs, run_dir, verbose)`` returns ``(model, card)``;
    ``evaluate(model)`` the metrics; ``generate(model, options)`` writes or prints samples.
    """

    name: str
    chapter: str
    summary: str
    settings: Any                     # the family's frozen settings dataclass
    build: Callable
    train: Callable
    evaluate: Callable
    example_batch: Callable           # () -> one small training batch
    generate: Callable | None = None  # None: a classifier, it cannot generate
    corpus: str | None = None         # text models: the name of their character corpus
    generator: Callable | None = None  # text models: (model, vocab) -> an IncrementalGenerator
    datasets: tuple[str, ...] = ()    # what train and evaluate read (names of aigc_course.data.catalog)

    @property
    def default_epochs(self) -> Epochs:
        return self.settings.epochs


MODELS: dict[str, ModelEntry] = {}


def register(*entries: ModelEntry) -> None:
    for entry in entries:
        if entry.name in MODELS:
            raise ValueError(f"model name {entry.name!r} registered twice")
        MODELS[entry.name] = entry


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name``, or a clear error listing what exists."""
    if name in MODELS:
        return MODELS[name]
    raise CourseError(f"unknown model {name!r}. Available: {', '.join(sorted(MODELS))}.")


def load_trained(name: str, weights: str | Path | None = None):
    """Build ``name`` and load its shipped weights (or ``weights``); return (model, card)."""
    from aigc_course.checkpoints import load_checkpoint, shipped_path

    model = get_entry(name).build()
    path = Path(weights) if weights else shipped_path(name)
    card = load_checkpoint(model, path, name)
    return model, card


def evaluate(name: str, weights: str | Path | None = None) -> dict:
    """The metrics of ``name`` (shipped weights, or ``weights``), with its name and the seconds it took."""
    started = time.time()
    model, _ = load_trained(name, weights)
    metrics = get_entry(name).evaluate(model)
    return {"name": name, **metrics, "seconds": round(time.time() - started, 2)}


def training_card(result: dict, epochs: int, data_note: str, digits: int = 5, **details) -> dict:
    """What a ``train`` run records in the checkpoint's card: epochs, time, data, details, rounded history."""
    return {"epochs": epochs, "train_seconds": round(result["train_seconds"], 1), "data": data_note, **details,
            "history": {key: [round(value, digits) for value in values]
                        for key, values in result["history"].items()}}


def compile_for(model, for_check: bool, check_learning_rate: float = 0.01, learning_rate: float = 1e-3):
    """Compile a model with its own ``compile`` (its loss is in its ``train_step``): Adam, or plain SGD for the
    one-step comparison of ``build(for_check=True)``. Returns the model."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(check_learning_rate) if for_check
                  else keras.optimizers.Adam(learning_rate))
    return model


def keras_name(name: str) -> str:
    """A model name as Keras accepts it for a layer or model (``dcgan-mnist`` -> ``dcgan_mnist``)."""
    return name.replace("-", "_")
