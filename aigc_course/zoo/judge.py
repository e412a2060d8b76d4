"""Chapter 00's judges: CNN classifiers that score the generated images of the later chapters."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_course.zoo.registry import Epochs, ModelEntry, keras_name, training_card

CHAPTER = "第00章 导论 (评委模型)"


@dataclass(frozen=True)
class JudgeSettings:
    dataset: str          # "mnist" or "fashion_mnist"
    epochs: Epochs
    dropout: float = 0.3


def judge_entry(name: str, settings: JudgeSettings) -> ModelEntry:
    def training_data():
        from aigc_course.data import load_fashion_mnist, load_mnist

        return load_mnist() if settings.dataset == "mnist" else load_fashion_mnist()

    def evaluation_data():
        from aigc_course.data import load_fashion_mnist
        from aigc_course.zoo.scoring import evaluation_mnist

        return evaluation_mnist() if settings.dataset == "mnist" else load_fashion_mnist(verbose=False)

    def build(for_check: bool = False):
        import keras

        from aigc_course.models.judge import build_judge, compile_judge

        model = build_judge(10, dropout_rate=0.0 if for_check else settings.dropout, name=keras_name(name))
        return compile_judge(model, optimizer=keras.optimizers.SGD(0.1) if for_check else None)

    def train(epochs, run_dir, verbose="auto"):
        from aigc_course.models.judge import train_judge

        data = training_data()
        model, result = train_judge(data, epochs, run_dir, name, verbose=verbose)
        return model, training_card(result, epochs, data.note,
                                    final_val_accuracy=result["history"]["val_accuracy"][-1])

    def evaluate(model):
        from aigc_course.metrics import Judge

        data = evaluation_data()
        judge = Judge(model, data.class_names)
        return {"test_accuracy": judge.accuracy(data.x_val, data.y_val), "test_images": len(data.x_val)}

    def example_batch():
        from aigc_course.data import scale_images

        data = evaluation_data()
        return scale_images(data.x_train[:32]), data.y_train[:32].astype("int32")

    return ModelEntry(name, CHAPTER, f"CNN judge of {settings.dataset} images (classifier, scores generated images)",
                      settings, build, train, evaluate, example_batch, datasets=(settings.dataset,))


ENTRIES = (
    judge_entry("judge-mnist", JudgeSettings("mnist", Epochs(30))),
    judge_entry("judge-fashion", JudgeSettings("fashion_mnist", Epochs(8))),
)
