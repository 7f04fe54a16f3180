"""Generators, discriminators and autoencoders. Resolution and channels are arguments, never separate classes."""

from gankit.nets import autoencoder, classifier, dcgan, fastgan, lapgan, mlp, resnet, stackgan  # noqa: F401  (registers the networks)
from gankit.nets.registry import NETS, build, from_config, register

__all__ = ["NETS", "build", "from_config", "register"]
