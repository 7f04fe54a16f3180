"""Generators, discriminators and autoencoders. Resolution and channels are arguments, never separate classes."""

from gankit.nets import (  # noqa: F401  (registers the networks)
    autoencoder, classifier, dcgan, fastgan, mlp, r3gan, resnet, stackgan)
from gankit.nets.registry import NETS, build, from_config, register

__all__ = ["NETS", "build", "from_config", "register"]
