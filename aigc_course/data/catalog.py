"""Which files each data set needs, whether they are here, and how a learner gets them."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_course.data.files import (DATA_ENV, MIRROR_ENV, RemoteFile, downloads_allowed, fetch, locate,
                                    source_url)
from aigc_course.data.images import FASHION_FILES, MNIST_FILES
from aigc_course.data.poems import TANG_FILES
from aigc_course.data.text import SHAKESPEARE
from aigc_course.errors import CorruptDataError, DataError


@dataclass(frozen=True)
class DatasetFiles:
    """A data set's files: ``required`` ones it cannot do without, ``optional`` ones it uses when present
    (MNIST's 60,000 training images: without them MNIST is its 10,000-image test split)."""

    name: str
    title: str
    required: tuple[RemoteFile, ...]
    optional: tuple[RemoteFile, ...] = ()

    @property
    def folder(self) -> str:
        return self.required[0].relpath.split("/")[0]

    def missing(self) -> list[RemoteFile]:
        """Required files found neither in the data folder nor in the cache."""
        return [remote for remote in self.required if locate(remote) is None]


DATASETS: dict[str, DatasetFiles] = {
    "mnist": DatasetFiles("mnist", "MNIST 手写数字",
                          (MNIST_FILES["test_images"], MNIST_FILES["test_labels"]),
                          (MNIST_FILES["train_images"], MNIST_FILES["train_labels"])),
    "fashion_mnist": DatasetFiles("fashion_mnist", "Fashion-MNIST 服装图像", tuple(FASHION_FILES.values())),
    "shakespeare": DatasetFiles("shakespeare", "Tiny Shakespeare", (SHAKESPEARE,)),
    "tang_poems": DatasetFiles("tang_poems", "全唐诗", TANG_FILES),
}


def how_to_get(name: str) -> str:
    """One line: what is missing and the ways to get it."""
    dataset = DATASETS[name]
    return (f"数据集 {name} ({dataset.title}) 不在本机: 设置 {DATA_ENV}=数据目录 (其中有 {dataset.folder}/, "
            f"例如 ../shared/data), 或设置 {MIRROR_ENV}=镜像网址, 或联网运行一次以下载到缓存 "
            f"(dataset {name} is missing: set {DATA_ENV}, set {MIRROR_ENV}, or run once online)")


def ensure_dataset(name: str) -> None:
    """Make every required file of ``name`` available (downloading what is missing, if allowed);
    raise ``DataError`` with :func:`how_to_get`'s advice when that cannot be done."""
    try:
        dataset = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None
    missing = dataset.missing()
    if missing and not downloads_allowed():
        raise DataError(f"{how_to_get(name)}; downloads are off (AIGC_COURSE_OFFLINE=1)")
    for remote in missing:
        try:
            fetch(remote)
        except DataError as error:
            raise DataError(f"{how_to_get(name)}. {error}") from error


def dataset_problem(name: str) -> tuple[str, str] | None:
    """None when data set ``name`` is here (downloaded first when downloads are allowed); else ``("corrupt", why)``
    for a wrong file in the data folder, or ``("missing", why)`` (``why`` starts with :func:`how_to_get`)."""
    try:
        ensure_dataset(name)
    except CorruptDataError as error:
        return "corrupt", str(error)
    except DataError as error:
        return "missing", str(error)
    return None


def dataset_status(name: str) -> str:
    """``"present"`` (every required file found), or ``"downloadable"`` / ``"missing"`` by whether downloads are on."""
    if not DATASETS[name].missing():
        return "present"
    return "downloadable" if downloads_allowed() else "missing"


def first_url(name: str) -> str:
    """The URL the first required file of ``name`` would be downloaded from (for a reachability probe)."""
    return source_url(DATASETS[name].required[0])
