"""AIGC 从入门到实战: helper package for the course notebooks (Keras 3 on TensorFlow)."""

__version__ = "0.1.0"
