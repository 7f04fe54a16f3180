"""Labelled synthetic datasets: images a generator makes, with labels a user can trust, written as a folder
any image pipeline reads, and the evidence of whether they help a classifier on real data.

- ``labelled``: draw images and label them (the class a conditional generator was asked for, or the class
  a classifier sees), keeping only those a classifier is confident of when asked;
- ``folder``: write them whole as ``images/CLASS/NNNNNN.png`` with ``labels.csv``, ``latents.npy`` and
  ``dataset.json``;
- ``evidence``: train the same classifier on real, synthetic and real + synthetic images at equal compute
  and test each on held-out real images, over several seeds.
"""

from __future__ import annotations


class SyntheticError(ValueError):
    """A request for synthetic data that cannot be met; the message names the flag or value."""
