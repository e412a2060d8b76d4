"""Chapter 05's diffusion model: a DDPM on MNIST, sampled with DDIM and classifier-free guidance."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from aigc_course.zoo.registry import (Epochs, GenerateOptions, ModelEntry, compile_for, keras_name,
                                      training_card)
from aigc_course.zoo.scoring import digit_labels, evaluation_mnist, mnist_judge, score_samples

CHAPTER = "第05章 扩散模型"
UNGUIDED_SAMPLES = 1000   # unconditional samples (DDIM, 50 steps) scored by the judge
GUIDED_SAMPLES = 500      # guided samples (50 per digit) for the label match
GUIDANCE = 2.0            # the default guidance scale w of the CLI and of `evaluate`
EVALUATION_STEPS = 50


@dataclass(frozen=True)
class DiffusionSettings:
    widths: tuple[int, ...]   # U-Net channels per resolution
    schedule: str             # noise schedule: "cosine" or "linear"
    epochs: Epochs
    batch_size: int


def diffusion_entry(name: str, settings: DiffusionSettings) -> ModelEntry:
    def make(for_check: bool = False):
        from aigc_course.models.diffusion import DiffusionModel

        model = DiffusionModel(settings.schedule, widths=settings.widths, name=keras_name(name), for_check=for_check)
        model.build()
        return model

    def build(for_check: bool = False):
        return compile_for(make(for_check), for_check)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.diffusion import train_diffusion

        data = load_mnist()
        model = make()
        result = train_diffusion(model, data, epochs, run_dir, name, batch_size=settings.batch_size, verbose=verbose)
        return model, training_card(result, epochs, data.note, digits=5, widths=list(settings.widths),
                                    schedule=settings.schedule, label_dropout=model.label_dropout,
                                    ema_decay=model.ema_decay)

    def evaluate(model):
        data = evaluation_mnist()
        judge = mnist_judge(data)
        started = time.perf_counter()
        samples = model.sample(UNGUIDED_SAMPLES, steps=EVALUATION_STEPS, seed=0)
        seconds = time.perf_counter() - started
        metrics = score_samples(samples, model.value_range, data, judge)
        labels = digit_labels(GUIDED_SAMPLES)
        guided = model.sample(GUIDED_SAMPLES, steps=EVALUATION_STEPS, labels=labels, guidance=GUIDANCE, seed=1)
        return {**metrics, "samples": UNGUIDED_SAMPLES, "sampler": f"DDIM {EVALUATION_STEPS} steps, eta 0",
                "sampling_seconds": round(seconds, 1), "label_match": judge.accuracy(guided, labels, model.value_range),
                "guided_samples": GUIDED_SAMPLES, "guidance": GUIDANCE}

    def generate(model, options: GenerateOptions):
        from aigc_course.plotting import save_image_grid

        n = options.n or 64
        labels = None if options.digit is None else np.full(n, options.digit)
        started = time.perf_counter()
        images = model.sample(n, steps=options.steps, eta=options.eta, labels=labels, guidance=options.guidance,
                              seed=options.seed)
        seconds = time.perf_counter() - started
        path = save_image_grid(images, options.out, value_range=model.value_range)
        sampler = "DDIM" if options.eta == 0 else f"eta={options.eta}"
        print(f"saved {n} samples ({sampler}, {options.steps} steps, {seconds:.1f} s) to {path}")

    def example_batch():
        from aigc_course.data.images import scale_images

        data = evaluation_mnist()
        return scale_images(data.x_train[:32], "symmetric"), data.y_train[:32].astype("int32")

    return ModelEntry(name, CHAPTER, "DDPM (U-Net, eps-prediction, EMA) with DDIM sampling and classifier-free "
                      "guidance on MNIST", settings, build, train, evaluate, example_batch, generate=generate,
                      datasets=("mnist",))


ENTRIES = (
    diffusion_entry("ddpm-mnist", DiffusionSettings((24, 48, 96), "cosine", Epochs(40), 64)),
)
