"""Every named model of the course: how to build, train, evaluate and sample it.

``registry`` holds what an entry is and how names are looked up; one module per model family says how
its entries are made (settings as frozen dataclasses); ``scoring`` is how image models are judged.
The CLI (``python -m aigc_course``), the gallery, the notebooks and the tests look models up here.
"""

from aigc_course.zoo import diffusion, gan, judge, likelihood, text, vae
from aigc_course.zoo.diffusion import GUIDANCE as DIFFUSION_GUIDANCE
from aigc_course.zoo.registry import (MODELS, Epochs, GenerateOptions, ModelEntry, evaluate, get_entry,
                                      load_trained, register)
from aigc_course.zoo.scoring import SCORED_SAMPLES, evaluation_mnist, mnist_judge
from aigc_course.zoo.text import POEM_START

register(*judge.ENTRIES, *text.ENTRIES, *gan.ENTRIES, *vae.ENTRIES, *diffusion.ENTRIES,
         *likelihood.ENTRIES)


__all__ = ["DIFFUSION_GUIDANCE", "Epochs", "GenerateOptions", "MODELS", "ModelEntry", "POEM_START",
           "SCORED_SAMPLES", "evaluate", "evaluation_mnist", "get_entry", "load_trained", "mnist_judge"]
