"""Tiny Shakespeare: the text and its 90% / 10% train/validation split (as nanoGPT uses)."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_course.data.files import RemoteFile, fetch
from aigc_course.errors import DataError

SHAKESPEARE = RemoteFile(
    "shakespeare/shakespeare.txt",
    "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
    ("sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",),
)


@dataclass(frozen=True)
class TextSplits:
    train: str
    val: str


def load_shakespeare_text() -> str:
    """The whole of Tiny Shakespeare (1,115,394 characters)."""
    path = fetch(SHAKESPEARE)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text ({error}). Fix: replace it with a fresh copy "
                        f"from {SHAKESPEARE.url}.") from error


def load_shakespeare(train_fraction: float = 0.9) -> TextSplits:
    """First 90% of the characters for training, the last 10% for validation."""
    text = load_shakespeare_text()
    cut = int(len(text) * train_fraction)
    return TextSplits(text[:cut], text[cut:])
