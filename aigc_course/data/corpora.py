"""The two character corpora of the text chapters, encoded and split the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aigc_course.data.chars import CharVocabulary, join_poems
from aigc_course.data.poems import load_tang_poems, select_forms, split_poems
from aigc_course.data.text import load_shakespeare

DEFAULT_FORMS = ("五言绝句", "七言绝句")


@dataclass(frozen=True)
class CharCorpus:
    """Training and validation text as character ids, with the vocabulary and what the split is."""

    name: str
    vocab: CharVocabulary
    train_ids: np.ndarray
    val_ids: np.ndarray
    note: str


def load_char_corpus(name: str, forms: tuple[str, ...] = DEFAULT_FORMS) -> CharCorpus:
    """``"shakespeare"``: first 90% / last 10% of the text (nanoGPT's split).
    ``"tang"``: quatrains of 全唐诗 (Simplified), split by poem, one poem per line.

    The vocabulary covers the whole corpus (both splits), as nanoGPT's character models do.
    """
    if name == "shakespeare":
        splits = load_shakespeare()
        train_text, val_text = splits.train, splits.val
        note = "Tiny Shakespeare: 前 90% 训练, 后 10% 验证 (与 nanoGPT 相同)"
    elif name == "tang":
        train_poems, val_poems = split_poems(select_forms(list(load_tang_poems()), forms))
        train_text, val_text = join_poems(train_poems), join_poems(val_poems)
        note = (f"全唐诗 {'、'.join(forms)} (简体): 按诗划分, 训练 {len(train_poems):,} 首 / "
                f"验证 {len(val_poems):,} 首, 每行一首")
    else:
        raise ValueError(f"unknown corpus {name!r}; choose 'shakespeare' or 'tang'")
    vocab = CharVocabulary.from_text(train_text + val_text)
    return CharCorpus(name, vocab, vocab.encode(train_text), vocab.encode(val_text), note)
