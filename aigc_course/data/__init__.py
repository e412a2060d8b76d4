"""Data sets of the course: local data folder first, then cache, then a verified download."""

from aigc_course.data.chars import CharVocabulary, char_windows, join_poems
from aigc_course.data.files import RemoteFile, cache_dir, data_dir, fetch
from aigc_course.data.images import (ImageData, image_pipeline, load_fashion_mnist, load_mnist,
                                     scale_images)
from aigc_course.data.poems import (FORMS, Poem, load_tang_poems, poem_shape, select_forms,
                                    split_poems)
from aigc_course.data.text import TextSplits, load_shakespeare, load_shakespeare_text

LOADERS = {
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "shakespeare": load_shakespeare,
    "tang_poems": load_tang_poems,
}


def load_dataset(name: str):
    """Load a data set by name: ``mnist``, ``fashion_mnist``, ``shakespeare`` or ``tang_poems``."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(LOADERS)}") from None
    return loader()


__all__ = [
    "CharVocabulary", "FORMS", "ImageData", "LOADERS", "Poem", "RemoteFile", "TextSplits", "cache_dir", "char_windows", "data_dir",
    "fetch", "image_pipeline", "join_poems", "load_dataset", "load_fashion_mnist", "load_mnist",
    "load_shakespeare", "load_shakespeare_text", "load_tang_poems", "poem_shape", "scale_images",
    "select_forms", "split_poems",
]
