"""Chapter 03's convolutional VAEs on binarised MNIST (a 16-d and a 2-d latent)."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_course.errors import SettingsError
from aigc_course.zoo.registry import (Epochs, GenerateOptions, ModelEntry, compile_for, keras_name,
                                      training_card)
from aigc_course.zoo.scoring import SCORED_SAMPLES, evaluation_mnist, mnist_judge, score_samples

CHAPTER = "第03章 VAE"
IW_SAMPLES = 100  # importance samples per held-out image for the IW estimate of -log p(x)


@dataclass(frozen=True)
class VAESettings:
    latent_dim: int
    epochs: Epochs


def vae_entry(name: str, settings: VAESettings) -> ModelEntry:
    def make(for_check: bool = False):
        from aigc_course.models.vae import VAE

        model = VAE(settings.latent_dim, name=keras_name(name), for_check=for_check)
        model.build()
        return model

    def build(for_check: bool = False):
        return compile_for(make(for_check), for_check)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.vae import train_vae

        data = load_mnist()
        model = make()
        result = train_vae(model, data, epochs, run_dir, name, verbose=verbose)
        return model, training_card(result, epochs, data.note, digits=4, latent_dim=settings.latent_dim,
                                    binarisation="dynamic (training), static seed 0 (held-out)")

    def evaluate(model):
        from aigc_course.models.vae import binarize, evaluate_bounds

        data = evaluation_mnist()
        metrics = evaluate_bounds(model, binarize(data.x_val, seed=0), k=IW_SAMPLES)
        samples = model.sample(SCORED_SAMPLES, seed=0)
        metrics.update(score_samples(samples, model.value_range, data, mnist_judge(data)))
        return {**metrics, "samples": SCORED_SAMPLES}

    def generate(model, options: GenerateOptions):
        from aigc_course.plotting import save_image_grid

        if options.digit is not None:
            raise SettingsError(f"{name} is not class-conditional: leave out --digit")
        n = options.n or 64
        path = save_image_grid(model.sample(n, seed=options.seed), options.out, value_range=model.value_range)
        print(f"saved {n} samples (decoder means) to {path}")

    def example_batch():
        from aigc_course.models.vae import binarize

        return binarize(evaluation_mnist().x_train[:32], seed=0)

    return ModelEntry(name, CHAPTER, f"convolutional VAE with a {settings.latent_dim}-d latent on binarised MNIST",
                      settings, build, train, evaluate, example_batch, generate=generate,
                      datasets=("mnist",))


ENTRIES = (
    vae_entry("vae-mnist", VAESettings(16, Epochs(100))),
    vae_entry("vae2d-mnist", VAESettings(2, Epochs(60))),
)
