"""Chapter 02's GANs on MNIST: the articles' MLP GAN (made to work), a DCGAN with an InfoGAN code, a
class-conditional DCGAN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aigc_course.errors import SettingsError
from aigc_course.zoo.registry import Epochs, GenerateOptions, ModelEntry, training_card
from aigc_course.zoo.scoring import SCORED_SAMPLES, digit_labels, evaluation_mnist, mnist_judge

CHAPTER = "第02章 GAN"


@dataclass(frozen=True)
class GANSettings:
    kind: str                  # "mlp" or "dcgan"
    epochs: Epochs
    conditional: bool = False  # a class-conditional GAN (projection discriminator)
    codes: int | None = None   # InfoGAN: categories of the unsupervised code
    dropout: float = 0.3


def describe(settings: GANSettings) -> str:
    if settings.conditional:
        return "class-conditional DCGAN (projection discriminator) on MNIST"
    if settings.codes:
        return f"DCGAN with an InfoGAN code ({settings.codes} categories, no labels) on MNIST"
    return {"mlp": "the articles' MLP GAN, made to work", "dcgan": "DCGAN"}[settings.kind] + " on MNIST"


def gan_entry(name: str, settings: GANSettings) -> ModelEntry:
    num_classes = 10 if settings.conditional else None

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.gan import build_gan

        model = build_gan(settings.kind, num_classes, dropout=0.0 if for_check else settings.dropout,
                          codes=settings.codes, for_check=for_check)
        model.compile(d_optimizer=keras.optimizers.SGD(0.1) if for_check else None,
                      g_optimizer=keras.optimizers.SGD(0.1) if for_check else None)
        return model

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.gan import build_gan, train_gan

        data = load_mnist()
        model = build_gan(settings.kind, num_classes, dropout=settings.dropout, codes=settings.codes)
        result = train_gan(model, data, epochs, run_dir, name, verbose=verbose)
        return model, training_card(result, epochs, data.note)

    def evaluate(model):
        from aigc_course.metrics import code_purity
        from aigc_course.zoo.scoring import score_samples

        data = evaluation_mnist()
        judge = mnist_judge(data)
        labels = digit_labels(SCORED_SAMPLES) if settings.conditional else None
        samples = model.sample(SCORED_SAMPLES, seed=0, labels=labels)
        metrics = score_samples(samples, model.value_range, data, judge)
        if settings.conditional:
            metrics["label_match"] = judge.accuracy(samples, labels, model.value_range)
        if settings.codes:
            metrics["code_purity"] = code_purity(model.sample_codes(SCORED_SAMPLES, seed=0), judge.predict(samples, model.value_range))
        return {**metrics, "samples": SCORED_SAMPLES}

    def generate(model, options: GenerateOptions):
        from aigc_course.plotting import save_image_grid

        n = options.n or 64
        labels = None
        if settings.conditional:
            labels = digit_labels(n) if options.digit is None else np.full(n, options.digit)
        elif options.digit is not None:
            raise SettingsError(f"{name} is not class-conditional: leave out --digit, or use cdcgan-mnist")
        path = save_image_grid(model.sample(n, seed=options.seed, labels=labels), options.out,
                               ncols=10 if settings.conditional and options.digit is None else 8,
                               value_range=model.value_range)
        print(f"saved {n} samples to {path}")

    def example_batch():
        from aigc_course.data.images import scale_images

        data = evaluation_mnist()
        return scale_images(data.x_train[:32], "symmetric"), data.y_train[:32].astype("int32")

    return ModelEntry(name, CHAPTER, describe(settings), settings, build, train, evaluate, example_batch,
                      generate=generate, datasets=("mnist",))


ENTRIES = (
    gan_entry("mlpgan-mnist", GANSettings("mlp", Epochs(60))),
    gan_entry("dcgan-mnist", GANSettings("dcgan", Epochs(160), codes=10)),
    gan_entry("cdcgan-mnist", GANSettings("dcgan", Epochs(60), conditional=True)),
)
