"""Chapter 06's exact-likelihood models on MNIST: a gated PixelCNN (binarised) and a RealNVP flow (8-bit)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aigc_course.errors import SettingsError
from aigc_course.runtime import by_mode
from aigc_course.zoo.registry import Epochs, GenerateOptions, ModelEntry, compile_for, keras_name, training_card
from aigc_course.zoo.scoring import evaluation_mnist, mnist_judge, score_samples

CHAPTER = "第06章 精确似然"
JUDGED_SAMPLES = (1000, 200)  # samples the judge scores (normal, quick mode): a PixelCNN draws 784 times per image


def judged_samples(model, data, temperature: float = 1.0) -> dict:
    """The judge's metrics of ``JUDGED_SAMPLES`` samples (seed 0) and the seconds it took to draw them."""
    count = by_mode(*JUDGED_SAMPLES)
    started = time.time()
    samples = model.sample(count, seed=0, temperature=temperature)
    seconds = round(time.time() - started, 1)
    return {"sampling_seconds": seconds, **score_samples(samples, model.value_range, data, mnist_judge(data)),
            "samples": count}


def save_samples(name: str, model, options: GenerateOptions, how: str) -> None:
    """``generate`` for both models: a grid of ``options.n`` samples at ``options.temperature``."""
    from aigc_course.plotting import save_image_grid

    if options.digit is not None:
        raise SettingsError(f"{name} is not class-conditional: leave out --digit")
    n = options.n or 64
    images = model.sample(n, seed=options.seed, temperature=options.temperature)
    path = save_image_grid(images, options.out, value_range=model.value_range)
    print(f"saved {n} samples ({how}) to {path}")


@dataclass(frozen=True)
class PixelCNNSettings:
    channels: int
    num_layers: int
    epochs: Epochs
    batch_size: int = 64
    learning_rate: float = 1e-3


def pixelcnn_entry(name: str, settings: PixelCNNSettings) -> ModelEntry:
    def make(for_check: bool = False):
        from aigc_course.models.pixelcnn import GatedPixelCNN

        model = GatedPixelCNN(settings.channels, settings.num_layers, for_check=for_check, name=keras_name(name))
        model.build()
        return model

    def build(for_check: bool = False):
        return compile_for(make(for_check), for_check)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.pixelcnn import train_pixelcnn

        data = load_mnist()
        model = make()
        result = train_pixelcnn(model, data, epochs, run_dir, name, batch_size=settings.batch_size,
                                learning_rate=settings.learning_rate, verbose=verbose)
        return model, training_card(result, epochs, data.note, digits=4, channels=settings.channels,
                                    num_layers=settings.num_layers,
                                    binarisation="dynamic (training), static seed 0 (held-out)")

    def evaluate(model):
        from aigc_course.models.vae import binarize

        data = evaluation_mnist()
        metrics = {"test_nll_nats": model.evaluate_nll(binarize(data.x_val, seed=0)), "images": len(data.x_val)}
        return {**metrics, **judged_samples(model, data)}

    def generate(model, options: GenerateOptions):
        save_samples(name, model, options, f"drawn pixel by pixel, temperature {options.temperature:g}")

    def example_batch():
        from aigc_course.models.vae import binarize

        return binarize(evaluation_mnist().x_train[:32], seed=0)

    return ModelEntry(name, CHAPTER, f"gated PixelCNN ({settings.num_layers} layers, {settings.channels} channels) "
                      "on binarised MNIST: exact -log p(x)", settings, build, train, evaluate, example_batch,
                      generate=generate, datasets=("mnist",))


@dataclass(frozen=True)
class RealNVPSettings:
    couplings: tuple[int, ...]   # affine couplings at each scale (after each squeeze)
    hidden: int                  # channels of each coupling's conditioner CNN
    epochs: Epochs
    depth: int = 2
    batch_size: int = 64
    learning_rate: float = 1e-3


def realnvp_entry(name: str, settings: RealNVPSettings) -> ModelEntry:
    def make(for_check: bool = False):
        from aigc_course.models.flows import RealNVP

        model = RealNVP(couplings=settings.couplings, hidden=settings.hidden, depth=settings.depth,
                        for_check=for_check, name=keras_name(name))
        model.build()
        return model

    def build(for_check: bool = False):
        return compile_for(make(for_check), for_check)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.flows import train_realnvp

        data = load_mnist()
        model = make()
        result = train_realnvp(model, data, epochs, run_dir, name, batch_size=settings.batch_size,
                               learning_rate=settings.learning_rate, verbose=verbose)
        return model, training_card(result, epochs, data.note, digits=4, couplings=list(settings.couplings),
                                    hidden=settings.hidden, parameters=model.count_params(),
                                    dequantisation="uniform, afresh every batch (training), seed 0 (held-out)")

    def evaluate(model):
        data = evaluation_mnist()
        metrics = {"bits_per_dim": model.evaluate_bits_per_dim(data.x_val, seed=0), "images": len(data.x_val)}
        return {**metrics, **judged_samples(model, data, temperature=1.0), "temperature": 1.0}

    def generate(model, options: GenerateOptions):
        save_samples(name, model, options, f"z ~ N(0, {options.temperature:g}^2 I), decoded")

    def example_batch():
        return evaluation_mnist().x_train[:32, :, :, None].astype("float32")

    return ModelEntry(name, CHAPTER, f"RealNVP flow ({'+'.join(map(str, settings.couplings))} affine couplings) on "
                      "8-bit MNIST: exact bits/dim", settings, build, train, evaluate, example_batch,
                      generate=generate, datasets=("mnist",))


ENTRIES = (
    pixelcnn_entry("pixelcnn-mnist", PixelCNNSettings(32, 7, Epochs(40))),
    realnvp_entry("realnvp-mnist", RealNVPSettings((6, 6), 64, Epochs(80))),
)
