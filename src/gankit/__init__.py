"""gankit: train, evaluate, explore and use GANs and autoencoders on your own images."""

__version__ = "0.1.0"
