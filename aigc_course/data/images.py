"""MNIST and Fashion-MNIST: IDX files, deterministic splits and tf.data pipelines."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aigc_course.data.files import (DATA_ENV, NotOnMirror, RemoteFile, data_dir, downloads_allowed, fetch, locate,
                                    mirror_url)
from aigc_course.errors import DataError

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
FASHION_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

MNIST_FILES = {
    "train_images": RemoteFile(
        "mnist/train-images-idx3-ubyte.gz", MNIST_URL + "train-images-idx3-ubyte.gz",
        ("sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",)),
    "train_labels": RemoteFile(
        "mnist/train-labels-idx1-ubyte.gz", MNIST_URL + "train-labels-idx1-ubyte.gz",
        ("sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",)),
    "test_images": RemoteFile(
        "mnist/t10k-images-idx3-ubyte.gz", MNIST_URL + "t10k-images-idx3-ubyte.gz",
        ("sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",)),
    "test_labels": RemoteFile(
        "mnist/t10k-labels-idx1-ubyte.gz", MNIST_URL + "t10k-labels-idx1-ubyte.gz",
        ("sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",)),
}

# Upstream md5 sums as published by Zalando Research; the sha256 entries are Debian's
# recompressed copies (package dataset-fashion-mnist), whose decompressed bytes are identical.
FASHION_FILES = {
    "train_images": RemoteFile(
        "fashion-mnist/train-images-idx3-ubyte.gz", FASHION_URL + "train-images-idx3-ubyte.gz",
        ("md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "sha256:b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7")),
    "train_labels": RemoteFile(
        "fashion-mnist/train-labels-idx1-ubyte.gz", FASHION_URL + "train-labels-idx1-ubyte.gz",
        ("md5:25c81989df183df01b3e8a0aad5dffbe",
         "sha256:0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056")),
    "test_images": RemoteFile(
        "fashion-mnist/t10k-images-idx3-ubyte.gz", FASHION_URL + "t10k-images-idx3-ubyte.gz",
        ("md5:bef4ecab320f06d8554ea6380940ec79",
         "sha256:cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa")),
    "test_labels": RemoteFile(
        "fashion-mnist/t10k-labels-idx1-ubyte.gz", FASHION_URL + "t10k-labels-idx1-ubyte.gz",
        ("md5:bb300cfdad3c16e7a12a480ee83cd310",
         "sha256:8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05")),
}

MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
FASHION_CLASS_NAMES = ("T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴")

OFFLINE_TRAIN_SIZE = 8_000  # of the 10,000 test images, when the 60,000 training images are absent


@dataclass(frozen=True)
class ImageData:
    """Images as uint8 arrays (N, 28, 28) with integer labels, split into train and validation.

    ``val`` is held out from every model of the course: for MNIST offline it is the last 2,000 of
    the shuffled 10,000-image test split, online it is the official 10,000-image test split.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_names: tuple[str, ...]
    note: str


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path} is not a readable gzip file ({error}). Fix: delete it and "
                        "download it again, or replace it with a fresh copy.") from error
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} does not start with an IDX uint8 header. Fix: replace the file "
                        "with the original MNIST-format file.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise DataError(f"{path} holds {len(raw) - offset} bytes of data but its header promises "
                        f"{expected} (shape {shape}). Fix: replace the truncated file.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _read_pair(files: dict[str, RemoteFile], split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(fetch(files[f"{split}_images"]))
    labels = read_idx(fetch(files[f"{split}_labels"]))
    if len(images) != len(labels):
        raise DataError(f"{files[f'{split}_images'].relpath} has {len(images)} images but "
                        f"{files[f'{split}_labels'].relpath} has {len(labels)} labels. Fix: "
                        "replace both files with matching originals.")
    return images, labels


def _split_here(split: str) -> bool:
    """Whether MNIST's ``split`` ("train" or "test"), images and labels, is in the data folder or the cache."""
    return all(locate(MNIST_FILES[f"{split}_{kind}"]) is not None for kind in ("images", "labels"))


def _mnist_training_split_available() -> bool:
    """Whether MNIST's 60,000 training images can be had: found locally, or downloadable.

    A data folder that holds MNIST's test split but not its training split (without a mirror) is taken as it
    is: nothing is downloaded. A mirror may hold only the test split too (it answers 404 for the rest).
    """
    if _split_here("train"):
        return True
    folder = data_dir()
    folder_has_test_split = folder is not None and (folder / MNIST_FILES["test_images"].relpath).is_file()
    if (folder_has_test_split and mirror_url() is None) or not downloads_allowed():
        return False
    try:
        fetch(MNIST_FILES["train_images"])
        fetch(MNIST_FILES["train_labels"])
    except NotOnMirror:
        return False
    except DataError as error:  # no network now: a test split already here still serves, and says so
        if _split_here("test"):
            print(f"MNIST: 下载 60,000 张训练集失败, 改用本机已有的测试集 ({error})")
            return False
        raise
    return True


def _test_split_only(verbose: bool, why: str) -> ImageData:
    images, labels = _read_pair(MNIST_FILES, "test")
    order = np.random.default_rng(2024).permutation(len(images))
    train, val = order[:OFFLINE_TRAIN_SIZE], order[OFFLINE_TRAIN_SIZE:]
    note = f"MNIST {why}, 按固定顺序划分为 {len(train):,} 张训练 / {len(val):,} 张验证"
    if verbose:
        print(note)
    return ImageData("mnist", images[train], labels[train], images[val], labels[val], MNIST_CLASS_NAMES, note)


def load_mnist(verbose: bool = True, test_split_only: bool = False) -> ImageData:
    """MNIST digits: the official 60,000 / 10,000 when the training images can be had, else a fixed
    8,000 / 2,000 split of the 10,000 test images (the offline data folder holds only those).

    ``test_split_only=True`` always gives that 8,000 / 2,000 split: the protocol every shipped MNIST
    checkpoint is trained and scored on, so its 2,000 held-out images are the same on every machine.
    """
    if test_split_only:
        return _test_split_only(verbose, "评测划分: 只用 10,000 张测试集图像")
    if not _mnist_training_split_available():
        where = f"镜像 {mirror_url()}" if mirror_url() else (DATA_ENV if data_dir() else "缓存")
        return _test_split_only(verbose, f"离线模式: {where} 中只有 10,000 张测试集图像 (没有 60,000 张训练集)")
    x_train, y_train = _read_pair(MNIST_FILES, "train")
    x_test, y_test = _read_pair(MNIST_FILES, "test")
    note = "MNIST 完整数据: 60,000 张训练 / 10,000 张测试"
    if verbose:
        print(note)
    return ImageData("mnist", x_train, y_train, x_test, y_test, MNIST_CLASS_NAMES, note)


def load_fashion_mnist(verbose: bool = True) -> ImageData:
    """Fashion-MNIST: 60,000 training and 10,000 test images of clothing items."""
    x_train, y_train = _read_pair(FASHION_FILES, "train")
    x_test, y_test = _read_pair(FASHION_FILES, "test")
    note = "Fashion-MNIST: 60,000 张训练 / 10,000 张测试"
    if verbose:
        print(note)
    return ImageData("fashion_mnist", x_train, y_train, x_test, y_test, FASHION_CLASS_NAMES, note)


def scale_images(images: np.ndarray, value_range: str = "unit") -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1] (``"unit"``) or [-1, 1] (``"symmetric"``)."""
    scaled = images.astype("float32")[..., None] / 255.0
    if value_range == "unit":
        return scaled
    if value_range == "symmetric":
        return scaled * 2.0 - 1.0
    raise ValueError(f"value_range must be 'unit' or 'symmetric', got {value_range!r}")


def image_pipeline(images: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 128,
                   shuffle: bool = True, value_range: str = "unit", seed: int = 0,
                   drop_remainder: bool = False):
    """A ``tf.data.Dataset`` of scaled image batches (with labels when given)."""
    import tensorflow as tf

    scaled = scale_images(images, value_range)
    tensors = scaled if labels is None else (scaled, labels.astype("int32"))
    dataset = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        dataset = dataset.shuffle(len(scaled), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
