"""Chapter 06's exact-likelihood models on MNIST: a gated PixelCNN (binarised) and a RealNVP flow (8-bit)."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_course.errors import SettingsError
from aigc_course.zoo.registry import Epochs, GenerateOptions, ModelEntry, compile_for, keras_name, training_card
from aigc_course.zoo.scoring import SCORED_SAMPLES, evaluation_mnist, mnist_judge, score_samples

CHAPTER = "第06章 精确似然"
JUDGED_SAMPLES = 1000  # PixelCNN samples take 784 forward passes each batch: the judge scores 1,000


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
        samples = model.sample(JUDGED_SAMPLES, seed=0)
        metrics.update(score_samples(samples, model.value_range, data, mnist_judge(data)))
        return {**metrics, "samples": JUDGED_SAMPLES}

    def generate(model, options: GenerateOptions):
        from aigc_course.plotting import save_image_grid

        if options.digit is not None:
            raise SettingsError(f"{name} is not class-conditional: leave out --digit")
        n = options.n or 64
        images = model.sample(n, seed=options.seed, temperature=options.temperature)
        path = save_image_grid(images, options.out, value_range=model.value_range)
        print(f"saved {n} samples (drawn pixel by pixel, temperature {options.temperature:g}) to {path}")

    def example_batch():
        from aigc_course.models.vae import binarize

        return binarize(evaluation_mnist().x_train[:32], seed=0)

    return ModelEntry(name, CHAPTER, f"gated PixelCNN ({settings.num_layers} layers, {settings.channels} channels) "
                      "on binarised MNIST: exact -log p(x)", settings, build, train, evaluate, example_batch,
                      generate=generate, datasets=("mnist",))


ENTRIES = (
    pixelcnn_entry("pixelcnn-mnist", PixelCNNSettings(32, 7, Epochs(40))),
)
