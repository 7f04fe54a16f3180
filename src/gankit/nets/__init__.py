"""Generators, discriminators and autoencoders. Resolution and channels are arguments, never separate classes."""

# importing each module registers its networks
from gankit.nets import (  # noqa: F401
    autoencoder, classifier, dcgan, fastgan, lapgan, mlp, pggan, r3gan, resnet, stackgan)
from gankit.nets.registry import NETS, build, from_config, register

__all__ = ["NETS", "build", "from_config", "register"]
