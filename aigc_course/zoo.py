"""Every named model of the course: how to build, train, evaluate and sample it.

The CLI (``python -m aigc_course``) and the tests look models up here; each chapter adds its entries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from aigc_course.errors import CourseError

# Names that later chapters add, with the chapter that adds them.
PLANNED: dict[str, str] = {}


@dataclass(frozen=True)
class ModelEntry:
    """One named model. ``build()`` returns the compiled model; ``build(for_check=True)`` returns the same
    architecture with stochastic layers (dropout, noise) off and plain SGD, so that one distributed
    training step can be compared exactly with a single-device step (SGD, unlike Adam, shows a wrongly
    scaled loss)."""

    name: str
    chapter: str
    summary: str
    build: Callable
    train: Callable          # (entry, epochs, run_dir, verbose) -> (model, card dict)
    evaluate: Callable       # (model) -> metrics dict
    example_batch: Callable  # () -> a small training batch (inputs, targets)
    generate: Callable | None = None
    default_epochs: tuple[int, int] = (20, 1)  # (normal mode, quick mode)
    extras: dict = field(default_factory=dict)


def _training_card(result: dict, epochs: int, data_note: str, digits: int = 5, **details) -> dict:
    """What a ``train`` run records in the checkpoint's card: epochs, time, data, details, rounded history."""
    return {"epochs": epochs, "train_seconds": round(result["train_seconds"], 1), "data": data_note, **details,
            "history": {key: [round(value, digits) for value in values] for key, values in result["history"].items()}}


def _judge_entry(name: str, dataset: str, epochs: tuple[int, int]) -> ModelEntry:
    def load_data():
        from aigc_course.data import load_fashion_mnist, load_mnist

        return load_mnist() if dataset == "mnist" else load_fashion_mnist()

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.judge import build_judge, compile_judge

        model = build_judge(10, dropout_rate=0.0 if for_check else 0.3, name=name.replace("-", "_"))
        return compile_judge(model, optimizer=keras.optimizers.SGD(0.1) if for_check else None)

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.models.judge import train_judge

        data = load_data()
        model, result = train_judge(data, epochs_to_run, run_dir, name, verbose=verbose)
        return model, _training_card(result, epochs_to_run, data.note,
                                     final_val_accuracy=result["history"]["val_accuracy"][-1])

    def evaluate(model):
        from aigc_course.metrics import Judge

        data = load_data()
        judge = Judge(model, data.class_names)
        return {"test_accuracy": judge.accuracy(data.x_val, data.y_val), "test_images": len(data.x_val)}

    def example_batch():
        from aigc_course.data import scale_images

        data = load_data()
        return scale_images(data.x_train[:32]), data.y_train[:32].astype("int32")

    return ModelEntry(name, "第00章 导论 (评委模型)", f"CNN judge of {dataset} images (classifier, "
                      "scores generated images)", build, train, evaluate, example_batch,
                      default_epochs=epochs)


POEM_START = "\n"      # the separator between poems: what comes after it is the start of a poem
FORM_RATE_POEMS = 500  # poems sampled (top-p 0.9) to measure the form rate

CHAR_LSTM_SIZES = {  # name -> (corpus, LSTM units, embedding size, (normal, quick) epochs, window, batch)
    "charlstm-shakespeare": ("shakespeare", 384, 64, (16, 1), 128, 128),
    # ~5k characters: the output layer dominates the cost on a CPU, so the LSTM is smaller. Each window
    # starts at a poem's separator and holds a whole quatrain ("\n" + 4 x 8 chars), as generation does
    "charlstm-tang": ("tang", 256, 128, (30, 1), 33, 64),
}


def text_generator(model, vocab):
    """The incremental generator for a character model: LSTM state or GPT key/value cache."""
    from aigc_course.models.char_lstm import CharLSTMGenerator
    from aigc_course.models.gpt import GPT, GPTGenerator

    return GPTGenerator(model, vocab) if isinstance(model, GPT) else CharLSTMGenerator(model, vocab)


def _text_metrics(corpus, generator, val_nats: float) -> dict:
    """Validation nats/char, and for poems the form rate of ``FORM_RATE_POEMS`` top-p 0.9 samples."""
    from aigc_course.data.poems import form_rate
    from aigc_course.sampling import DecodingSettings

    metrics = {"val_nats_per_char": val_nats, "val_chars": int(len(corpus.val_ids))}
    if corpus.name == "tang":
        poems = generator.generate(POEM_START, 64, DecodingSettings("top_p", top_p=0.9), batch=FORM_RATE_POEMS,
                                   seed=0, stop_at=POEM_START)
        metrics.update(form_rate=form_rate(poems), form_rate_poems=len(poems), form_rate_strategy="top_p 0.9")
    return metrics


def _print_generated(generator, poems: bool, args) -> None:
    """The CLI's ``generate`` for text models: ``--n`` samples with the chosen decoding settings."""
    from aigc_course.sampling import DecodingSettings

    settings = DecodingSettings(args.strategy, args.temperature, args.top_k, args.top_p,
                                args.repetition_penalty, args.beam_width)
    for index in range(args.n or 3):
        if poems:  # a poem starts after the separator; stop at the next one
            prompt = args.prompt or ""
            print(prompt + generator.generate(POEM_START + prompt, args.length, settings, seed=args.seed + index,
                                              stop_at=POEM_START)[0])
        else:
            prompt = "\n" if args.prompt is None else args.prompt
            print(prompt + generator.generate(prompt, args.length, settings, seed=args.seed + index)[0])
            print("-" * 40)


def _char_lstm_entry(name: str) -> ModelEntry:
    corpus_name, units, embedding_dim, epochs, window, batch_size = CHAR_LSTM_SIZES[name]

    def corpus():
        from aigc_course.data.corpora import load_char_corpus

        return load_char_corpus(corpus_name)

    def build(for_check: bool = False, vocab_size: int | None = None):
        import keras

        from aigc_course.models.char_lstm import CharLSTM, compile_char_model

        vocab_size = vocab_size or len(corpus().vocab)
        model = CharLSTM(vocab_size, embedding_dim, units, dropout=0.0 if for_check else 0.1,
                         name=name.replace("-", "_"))
        compile_char_model(model, optimizer=keras.optimizers.SGD(0.5) if for_check else None)
        model(np.zeros((1, 1), dtype="int32"))
        return model

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.models.char_lstm import CharLSTM, train_char_lm

        data = corpus()
        model = CharLSTM(len(data.vocab), embedding_dim, units, name=name.replace("-", "_"))
        result = train_char_lm(model, data, epochs_to_run, run_dir, name, sequence_length=window,
                               batch_size=batch_size, verbose=verbose,
                               align_to=POEM_START if corpus_name == "tang" else None)
        return model, _training_card(
            result, epochs_to_run, data.note, vocabulary="".join(data.vocab.chars), units=units,
            embedding_dim=embedding_dim, window=window, batch_size=batch_size,
            windows="one per poem, from its separator" if corpus_name == "tang" else "every half window")

    def evaluate(model):
        from aigc_course.models.char_lstm import CharLSTMGenerator, nats_per_char

        data = corpus()
        return _text_metrics(data, CharLSTMGenerator(model, data.vocab), nats_per_char(model, data.val_ids))

    def generate(model, args):
        from aigc_course.models.char_lstm import CharLSTMGenerator

        _print_generated(CharLSTMGenerator(model, corpus().vocab), corpus_name == "tang", args)

    def example_batch():
        ids = corpus().train_ids[:8 * 33]
        windows = ids.reshape(8, 33)
        return windows[:, :-1], windows[:, 1:]

    return ModelEntry(name, "第01章 RNN 文本生成", f"character-level LSTM language model of {corpus_name}",
                      build, train, evaluate, example_batch, generate=generate, default_epochs=epochs)


GPT_SIZES = {  # name -> corpus, context, embedding, heads, layers, dropout, (normal, quick) epochs, batch, stride
    "gpt-shakespeare": ("shakespeare", 128, 192, 6, 4, 0.1, (8, 1), 32, 64),
    # Stream windows, NOT aligned to poems as for charlstm-tang: with every window starting at a separator the
    # learned absolute positions memorise "position 6 is a comma" and held-out loss rises epoch after epoch
    # (6.94 -> 7.35 in 4 epochs). 64 characters hold a separator and a whole quatrain, so attention finds the start
    "gpt-tang": ("tang", 64, 192, 6, 4, 0.2, (8, 1), 64, 32),
}


def _gpt_entry(name: str) -> ModelEntry:
    corpus_name, context, embed_dim, heads, num_layers, dropout, epochs, batch_size, stride = GPT_SIZES[name]

    def corpus():
        from aigc_course.data.corpora import load_char_corpus

        return load_char_corpus(corpus_name)

    def make(vocab_size, dropout_rate):
        from aigc_course.models.gpt import GPT

        model = GPT(vocab_size, context, embed_dim, heads, num_layers, dropout_rate, name=name.replace("-", "_"))
        model(np.zeros((1, 1), dtype="int32"))
        return model

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.gpt import compile_gpt, gpt_learning_rate

        model = make(len(corpus().vocab), 0.0 if for_check else dropout)
        return compile_gpt(model, gpt_learning_rate(1e-3, 1000),
                           optimizer=keras.optimizers.SGD(0.5) if for_check else None)

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.models.gpt import train_gpt
        from aigc_course.runtime import by_mode

        data = corpus()
        model = make(len(data.vocab), dropout)
        result = train_gpt(model, data, epochs_to_run, run_dir, name, batch_size=batch_size, stride=stride,
                           align_to=POEM_START if stride is None else None, verbose=verbose,
                           steps_per_epoch=by_mode(None, 20), val_chars=by_mode(None, 20_000))
        return model, _training_card(
            result, epochs_to_run, data.note, vocabulary="".join(data.vocab.chars), context=context,
            embed_dim=embed_dim, heads=heads, layers=num_layers, dropout=dropout, batch_size=batch_size,
            parameters=model.count_params(),
            windows="one per poem, from its separator" if stride is None else f"every {stride} characters")

    def evaluate(model):
        from aigc_course.models.gpt import GPTGenerator, nats_per_char

        data = corpus()
        return _text_metrics(data, GPTGenerator(model, data.vocab), nats_per_char(model, data.val_ids))

    def generate(model, args):
        from aigc_course.models.gpt import GPTGenerator

        _print_generated(GPTGenerator(model, corpus().vocab), corpus_name == "tang", args)

    def example_batch():
        windows = corpus().train_ids[:8 * 33].reshape(8, 33)
        return windows[:, :-1], windows[:, 1:]

    return ModelEntry(name, "第04章 Transformer", f"character-level GPT (decoder-only Transformer) of {corpus_name}",
                      build, train, evaluate, example_batch, generate=generate, default_epochs=epochs)


GAN_SAMPLES = 2000  # generated images scored by the judge (FID-judge against 2,000 training images)
GAN_SIZES = {  # name -> (kind, conditional, InfoGAN codes, (normal, quick) epochs)
    "mlpgan-mnist": ("mlp", False, None, (60, 1)),
    "dcgan-mnist": ("dcgan", False, 10, (160, 1)),
    "cdcgan-mnist": ("dcgan", True, None, (60, 1)),
}
NOT_MIRROR_EXACT = ("a GAN draws its noise per replica and its BatchNorm statistics per replica, so a "
                    "mirrored step is a valid step but not the single-device step")


def mnist_judge(data=None):
    """The shipped MNIST judge wrapped in ``metrics.Judge`` (the scorer of every image chapter)."""
    from aigc_course.data import load_mnist
    from aigc_course.metrics import Judge

    data = data or load_mnist(verbose=False)
    return Judge(load_trained("judge-mnist")[0], data.class_names)


def _gan_entry(name: str) -> ModelEntry:
    kind, conditional, codes, epochs = GAN_SIZES[name]
    num_classes = 10 if conditional else None

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.gan import build_gan

        model = build_gan(kind, num_classes, dropout=0.0 if for_check else 0.3, codes=codes)
        model.compile(d_optimizer=keras.optimizers.SGD(0.1) if for_check else None,
                      g_optimizer=keras.optimizers.SGD(0.1) if for_check else None)
        return model

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.gan import build_gan, train_gan

        data = load_mnist()
        model = build_gan(kind, num_classes, codes=codes)
        result = train_gan(model, data, epochs_to_run, run_dir, name, verbose=verbose)
        return model, _training_card(result, epochs_to_run, data.note)

    def evaluate(model):
        from aigc_course.data import load_mnist
        from aigc_course.metrics import code_purity

        data = load_mnist(verbose=False)
        judge = mnist_judge(data)
        labels = np.arange(GAN_SAMPLES) % 10 if conditional else None
        samples = model.sample(GAN_SAMPLES, seed=0, labels=labels)
        metrics = judge.report(samples, data.x_train[:GAN_SAMPLES], data.x_val)
        if conditional:
            metrics["label_match"] = judge.accuracy(samples, labels)
        if codes:
            metrics["code_purity"] = code_purity(model.sample_codes(GAN_SAMPLES, seed=0), judge.predict(samples))
        return {**metrics, "samples": GAN_SAMPLES}

    def generate(model, args):
        from aigc_course.plotting import save_image_grid

        n = args.n or 64
        labels = None
        if conditional:
            labels = np.arange(n) % 10 if args.digit is None else np.full(n, args.digit)
        elif args.digit is not None:
            raise ValueError(f"{name} is not class-conditional: leave out --digit, or use cdcgan-mnist")
        path = save_image_grid(model.sample(n, seed=args.seed, labels=labels), args.out,
                               ncols=10 if conditional and args.digit is None else 8)
        print(f"saved {n} samples to {path}")

    def example_batch():
        from aigc_course.data import load_mnist
        from aigc_course.data.images import scale_images

        data = load_mnist(verbose=False)
        return scale_images(data.x_train[:32], "symmetric"), data.y_train[:32].astype("int32")

    summary = {"mlp": "the articles' MLP GAN, made to work", "dcgan": "DCGAN"}[kind]
    if conditional:
        summary = "class-conditional DCGAN (projection discriminator)"
    if codes:
        summary = f"DCGAN with an InfoGAN code ({codes} categories, no labels)"
    return ModelEntry(name, "第02章 GAN", f"{summary} on MNIST", build, train, evaluate, example_batch,
                      generate=generate, default_epochs=epochs, extras={"not_mirror_exact": NOT_MIRROR_EXACT})


VAE_SIZES = {  # name -> (latent dimensions, (normal, quick) epochs)
    "vae-mnist": (16, (100, 1)),
    "vae2d-mnist": (2, (60, 1)),
}
VAE_IW_SAMPLES = 100  # importance samples per held-out image for the IW estimate of -log p(x)


def _vae_entry(name: str) -> ModelEntry:
    latent_dim, epochs = VAE_SIZES[name]

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.vae import VAE

        model = VAE(latent_dim, name=name.replace("-", "_"))
        model.build()
        model.compile(optimizer=keras.optimizers.SGD(0.01) if for_check else keras.optimizers.Adam(1e-3))
        return model

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.vae import VAE, train_vae

        data = load_mnist()
        model = VAE(latent_dim, name=name.replace("-", "_"))
        model.build()
        result = train_vae(model, data, epochs_to_run, run_dir, name, verbose=verbose)
        return model, _training_card(result, epochs_to_run, data.note, digits=4, latent_dim=latent_dim,
                                     binarisation="dynamic (training), static seed 0 (held-out)")

    def evaluate(model):
        from aigc_course.data import load_mnist
        from aigc_course.models.vae import binarize, evaluate_bounds

        data = load_mnist(verbose=False)
        metrics = evaluate_bounds(model, binarize(data.x_val, seed=0), k=VAE_IW_SAMPLES)
        judge = mnist_judge(data)
        samples = model.sample(GAN_SAMPLES, seed=0)
        metrics.update(judge.report(samples, data.x_train[:GAN_SAMPLES], data.x_val))
        return {**metrics, "samples": GAN_SAMPLES}

    def generate(model, args):
        from aigc_course.plotting import save_image_grid

        if args.digit is not None:
            raise ValueError(f"{name} is not class-conditional: leave out --digit")
        n = args.n or 64
        path = save_image_grid(model.sample(n, seed=args.seed), args.out)
        print(f"saved {n} samples (decoder means) to {path}")

    def example_batch():
        from aigc_course.data import load_mnist
        from aigc_course.models.vae import binarize

        return binarize(load_mnist(verbose=False).x_train[:32], seed=0)

    return ModelEntry(name, "第03章 VAE", f"convolutional VAE with a {latent_dim}-d latent on binarised MNIST",
                      build, train, evaluate, example_batch, generate=generate, default_epochs=epochs,
                      extras={"not_mirror_exact": "a VAE draws its noise per replica, so a mirrored step is a "
                                                  "valid step but not the single-device step"})


DIFFUSION_SIZES = {  # name -> (U-Net widths, noise schedule, (normal, quick) epochs, batch size)
    "ddpm-mnist": ((24, 48, 96), "cosine", (40, 1), 64),
}
DIFFUSION_SAMPLES = 1000     # unconditional samples (DDIM, 50 steps) scored by the judge
DIFFUSION_GUIDED = 500       # guided samples (50 per digit) for the label match
DIFFUSION_GUIDANCE = 2.0     # the default guidance scale w of the CLI and of `evaluate`


def _diffusion_entry(name: str) -> ModelEntry:
    widths, schedule, epochs, batch_size = DIFFUSION_SIZES[name]

    def make():
        from aigc_course.models.diffusion import DiffusionModel

        model = DiffusionModel(schedule, widths=widths, name=name.replace("-", "_"))
        model.build()
        return model

    def build(for_check: bool = False):
        import keras

        model = make()
        model.compile(optimizer=keras.optimizers.SGD(0.01) if for_check else keras.optimizers.Adam(1e-3))
        return model

    def train(entry, epochs_to_run, run_dir, verbose="auto"):
        from aigc_course.data import load_mnist
        from aigc_course.models.diffusion import train_diffusion

        data = load_mnist()
        model = make()
        result = train_diffusion(model, data, epochs_to_run, run_dir, name, batch_size=batch_size, verbose=verbose)
        return model, _training_card(result, epochs_to_run, data.note, digits=5, widths=list(widths),
                                     schedule=schedule, label_dropout=model.label_dropout,
                                     ema_decay=model.ema_decay)

    def evaluate(model):
        from aigc_course.data import load_mnist

        data = load_mnist(verbose=False)
        judge = mnist_judge(data)
        started = time.perf_counter()
        samples = model.sample(DIFFUSION_SAMPLES, steps=50, seed=0)
        seconds = time.perf_counter() - started
        metrics = judge.report(samples, data.x_train[:GAN_SAMPLES], data.x_val)
        labels = np.arange(DIFFUSION_GUIDED) % 10
        guided = model.sample(DIFFUSION_GUIDED, steps=50, labels=labels, guidance=DIFFUSION_GUIDANCE, seed=1)
        return {**metrics, "samples": DIFFUSION_SAMPLES, "sampler": "DDIM 50 steps, eta 0",
                "sampling_seconds": round(seconds, 1),
                "label_match": judge.accuracy(guided, labels), "guided_samples": DIFFUSION_GUIDED,
                "guidance": DIFFUSION_GUIDANCE}

    def generate(model, args):
        from aigc_course.plotting import save_image_grid

        n = args.n or 64
        labels = None if args.digit is None else np.full(n, args.digit)
        if args.digit is not None and not 0 <= args.digit <= 9:
            raise ValueError(f"--digit {args.digit}: choose a digit 0-9, or leave it out for any digit")
        started = time.perf_counter()
        images = model.sample(n, steps=args.steps, eta=args.eta, labels=labels, guidance=args.guidance,
                              seed=args.seed)
        seconds = time.perf_counter() - started
        path = save_image_grid(images, args.out)
        sampler = "DDIM" if args.eta == 0 else f"eta={args.eta}"
        print(f"saved {n} samples ({sampler}, {args.steps} steps, {seconds:.1f} s) to {path}")

    def example_batch():
        from aigc_course.data import load_mnist
        from aigc_course.data.images import scale_images

        data = load_mnist(verbose=False)
        return scale_images(data.x_train[:32], "symmetric"), data.y_train[:32].astype("int32")

    return ModelEntry(name, "第05章 扩散模型", "DDPM (U-Net, eps-prediction, EMA) with DDIM sampling and "
                      "classifier-free guidance on MNIST", build, train, evaluate, example_batch,
                      generate=generate, default_epochs=epochs,
                      extras={"not_mirror_exact": "a diffusion step draws its timesteps and noise per replica, "
                                                  "so a mirrored step is a valid step but not the single-device "
                                                  "step"})


MODELS: dict[str, ModelEntry] = {
    entry.name: entry for entry in (
        _judge_entry("judge-mnist", "mnist", (30, 1)),
        _judge_entry("judge-fashion", "fashion_mnist", (8, 1)),
        _char_lstm_entry("charlstm-shakespeare"),
        _char_lstm_entry("charlstm-tang"),
        *(_gpt_entry(name) for name in GPT_SIZES),
        *(_gan_entry(name) for name in GAN_SIZES),
        *(_vae_entry(name) for name in VAE_SIZES),
        *(_diffusion_entry(name) for name in DIFFUSION_SIZES),
    )
}


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name``, or a clear error listing what exists (and when planned names arrive)."""
    if name in MODELS:
        return MODELS[name]
    if name in PLANNED:
        raise CourseError(f"{name!r} belongs to {PLANNED[name]}, which this version of the course does "
                          f"not have yet. Available now: {', '.join(sorted(MODELS))}.")
    later = f"; coming with later chapters: {', '.join(sorted(PLANNED))}" if PLANNED else ""
    raise CourseError(f"unknown model {name!r}. Available: {', '.join(sorted(MODELS))}{later}.")


def load_trained(name: str, weights: str | Path | None = None):
    """Build ``name`` and load its shipped weights (or ``weights``); return (model, card)."""
    from aigc_course.checkpoints import load_checkpoint, shipped_path

    entry = get_entry(name)
    model = entry.build()
    path = Path(weights) if weights else shipped_path(name)
    card = load_checkpoint(model, path, name)
    return model, card


def evaluate(name: str, weights: str | Path | None = None) -> dict:
    started = time.time()
    model, _ = load_trained(name, weights)
    metrics = get_entry(name).evaluate(model)
    return {"name": name, **metrics, "seconds": round(time.time() - started, 2)}

