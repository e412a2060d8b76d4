"""Chapters 01 and 04: character-level language models (LSTM and GPT) of Shakespeare and Tang quatrains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aigc_course.zoo.registry import Epochs, GenerateOptions, ModelEntry, keras_name, training_card

POEM_START = "\n"      # the separator between poems: what comes after it is the start of a poem
FORM_RATE_POEMS = 500  # poems sampled (top-p 0.9) to measure the form rate
POEM_CORPUS = "tang"
CORPUS_DATASETS = {"shakespeare": "shakespeare", "tang": "tang_poems"}  # corpus -> the data set it is read from


@dataclass(frozen=True)
class CharLSTMSettings:
    corpus: str           # "shakespeare" or "tang"
    units: int            # LSTM units
    embedding_dim: int
    epochs: Epochs
    window: int           # characters per training window
    batch_size: int
    dropout: float = 0.1


@dataclass(frozen=True)
class GPTSettings:
    corpus: str
    context: int          # context length (characters)
    embed_dim: int
    heads: int
    layers: int
    dropout: float
    epochs: Epochs
    batch_size: int
    stride: int           # a training window starts every ``stride`` characters


def load_corpus(name: str):
    from aigc_course.data.corpora import load_char_corpus

    return load_char_corpus(name)


def vocabulary(corpus: str, card: dict | None = None):
    """The vocabulary of a model of ``corpus``: from its checkpoint card when it records one (no data needed),
    else from the corpus itself."""
    from aigc_course.data.chars import CharVocabulary

    if card and card.get("vocabulary"):
        return CharVocabulary(tuple(card["vocabulary"]))
    return load_corpus(corpus).vocab


def text_metrics(corpus, generator, val_nats: float) -> dict:
    """Validation nats/char, and for poems the form rate of ``FORM_RATE_POEMS`` top-p 0.9 samples."""
    from aigc_course.data.poems import form_rate
    from aigc_course.sampling import DecodingSettings

    metrics = {"val_nats_per_char": val_nats, "val_chars": int(len(corpus.val_ids))}
    if corpus.name == POEM_CORPUS:
        poems = generator.generate(POEM_START, 64, DecodingSettings("top_p", top_p=0.9), batch=FORM_RATE_POEMS,
                                   seed=0, stop_at=POEM_START)
        metrics.update(form_rate=form_rate(poems), form_rate_poems=len(poems), form_rate_strategy="top_p 0.9")
    return metrics


def print_generated(generator, poems: bool, options: GenerateOptions) -> None:
    """``generate`` for text models: ``options.n`` samples (default 3) with the chosen decoding settings."""
    from aigc_course.sampling import DecodingSettings

    settings = DecodingSettings(options.strategy, options.temperature, options.top_k, options.top_p,
                                options.repetition_penalty, options.beam_width)
    for index in range(options.n or 3):
        if poems:  # a poem starts after the separator; stop at the next one
            prompt = options.prompt or ""
            print(prompt + generator.generate(POEM_START + prompt, options.length, settings,
                                              seed=options.seed + index, stop_at=POEM_START)[0])
        else:
            prompt = "\n" if options.prompt is None else options.prompt
            print(prompt + generator.generate(prompt, options.length, settings, seed=options.seed + index)[0])
            print("-" * 40)


def _evaluate(model, corpus_name: str, generator) -> dict:
    """``evaluate`` of a character model: validation nats/char (the model's own window) and the form rate."""
    from aigc_course.metrics import nats_per_char

    data = load_corpus(corpus_name)
    return text_metrics(data, generator(model, data.vocab), nats_per_char(model, data.val_ids))


def _generate(model, options: GenerateOptions, name: str, corpus_name: str, generator) -> None:
    """``generate`` of a character model: the vocabulary from the shipped card, poems when it writes poems."""
    print_generated(generator(model, vocabulary(corpus_name, _shipped_card(name))), corpus_name == POEM_CORPUS,
                    options)


def _example_batch(corpus_name: str):
    windows = load_corpus(corpus_name).train_ids[:8 * 33].reshape(8, 33)
    return windows[:, :-1], windows[:, 1:]


def char_lstm_entry(name: str, settings: CharLSTMSettings) -> ModelEntry:
    poems = settings.corpus == POEM_CORPUS

    def make(vocab_size: int, dropout: float):
        from aigc_course.models.char_lstm import CharLSTM

        model = CharLSTM(vocab_size, settings.embedding_dim, settings.units, dropout=dropout, name=keras_name(name))
        model(np.zeros((1, 1), dtype="int32"))
        return model

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.char_lstm import compile_char_model

        model = make(len(vocabulary(settings.corpus, _shipped_card(name))), 0.0 if for_check else settings.dropout)
        return compile_char_model(model, optimizer=keras.optimizers.SGD(0.5) if for_check else None)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.models.char_lstm import train_char_lm

        data = load_corpus(settings.corpus)
        model = make(len(data.vocab), settings.dropout)
        result = train_char_lm(model, data, epochs, run_dir, name, sequence_length=settings.window,
                               batch_size=settings.batch_size, verbose=verbose,
                               align_to=POEM_START if poems else None)
        return model, training_card(
            result, epochs, data.note, vocabulary="".join(data.vocab.chars), units=settings.units,
            embedding_dim=settings.embedding_dim, window=settings.window, batch_size=settings.batch_size,
            windows="one per poem, from its separator" if poems else "every half window")

    def generator(model, vocab):
        from aigc_course.models.char_lstm import CharLSTMGenerator

        return CharLSTMGenerator(model, vocab)

    def evaluate(model):
        return _evaluate(model, settings.corpus, generator)

    def generate(model, options: GenerateOptions):
        _generate(model, options, name, settings.corpus, generator)

    return ModelEntry(name, "第01章 RNN 文本生成", f"character-level LSTM language model of {settings.corpus}",
                      settings, build, train, evaluate, lambda: _example_batch(settings.corpus),
                      generate=generate, corpus=settings.corpus, generator=generator,
                      datasets=(CORPUS_DATASETS[settings.corpus],))


def gpt_entry(name: str, settings: GPTSettings) -> ModelEntry:
    def make(vocab_size: int, dropout: float):
        from aigc_course.models.gpt import GPT

        model = GPT(vocab_size, settings.context, settings.embed_dim, settings.heads, settings.layers, dropout,
                    name=keras_name(name))
        model(np.zeros((1, 1), dtype="int32"))
        return model

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.gpt import compile_gpt, gpt_learning_rate

        model = make(len(vocabulary(settings.corpus, _shipped_card(name))), 0.0 if for_check else settings.dropout)
        return compile_gpt(model, gpt_learning_rate(1e-3, 1000),
                           optimizer=keras.optimizers.SGD(0.5) if for_check else None)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.models.gpt import train_gpt
        from aigc_course.runtime import by_mode

        data = load_corpus(settings.corpus)
        model = make(len(data.vocab), settings.dropout)
        result = train_gpt(model, data, epochs, run_dir, name, batch_size=settings.batch_size,
                           stride=settings.stride, verbose=verbose,
                           steps_per_epoch=by_mode(None, 20), val_chars=by_mode(None, 20_000))
        return model, training_card(
            result, epochs, data.note, vocabulary="".join(data.vocab.chars), context=settings.context,
            embed_dim=settings.embed_dim, heads=settings.heads, layers=settings.layers, dropout=settings.dropout,
            batch_size=settings.batch_size, parameters=model.count_params(),
            windows=f"every {settings.stride} characters")

    def generator(model, vocab):
        from aigc_course.models.gpt import GPTGenerator

        return GPTGenerator(model, vocab)

    def evaluate(model):  # nats_per_char's window is the model's context_length
        return _evaluate(model, settings.corpus, generator)

    def generate(model, options: GenerateOptions):
        _generate(model, options, name, settings.corpus, generator)

    return ModelEntry(name, "第04章 Transformer", f"character-level GPT (decoder-only Transformer) of {settings.corpus}",
                      settings, build, train, evaluate, lambda: _example_batch(settings.corpus),
                      generate=generate, corpus=settings.corpus, generator=generator,
                      datasets=(CORPUS_DATASETS[settings.corpus],))


def _shipped_card(name: str) -> dict | None:
    from aigc_course.checkpoints import read_card, shipped_path

    return read_card(shipped_path(name)) if shipped_path(name).is_file() else None


ENTRIES = (
    char_lstm_entry("charlstm-shakespeare", CharLSTMSettings("shakespeare", 384, 64, Epochs(16), 128, 128)),
    # ~5k characters: the output layer dominates the cost on a CPU, so the LSTM is smaller. Each window starts at
    # a poem's separator and holds a whole quatrain ("\n" + 4 x 8 chars), as generation does
    char_lstm_entry("charlstm-tang", CharLSTMSettings("tang", 256, 128, Epochs(30), 33, 64)),
    gpt_entry("gpt-shakespeare", GPTSettings("shakespeare", 128, 192, 6, 4, 0.1, Epochs(8), 32, 64)),
    # Stream windows, NOT aligned to poems as for charlstm-tang: with every window starting at a separator the
    # learned absolute positions memorise "position 6 is a comma" and held-out loss rises epoch after epoch
    # (6.94 -> 7.35 in 4 epochs). 64 characters hold a separator and a whole quatrain, so attention finds the start
    gpt_entry("gpt-tang", GPTSettings("tang", 64, 192, 6, 4, 0.2, Epochs(8), 64, 32)),
)
