"""Feature extractors by name: the spaces in which fd, kid, pr and dc compare real and generated images.

- ``fmnist``: gankit's classifier trained on the Fashion-MNIST training split, shipped with the
  package (the default for 28x28 grayscale data), taught to ignore mirroring, brightness, contrast,
  resampling and slight blur, so its distances measure garments; its floor and ceiling are recorded
  (``gankit features calibrate fmnist``). Its distances are not Inception FIDs.
- ``inception``: the standard FID Inception-v3 (torch-fidelity's port of the TF graph), from a
  local weights file, since it cannot be downloaded at run time on many machines.
- ``classifier:PATH`` (or just ``PATH``): any folder written by ``gankit features train``, with labels or
  ``--self-supervised`` (a space learnt from unlabelled images; it has no class head).
- ``pixels``: the images themselves, flattened at the model's size: no network, so nothing learnt to
  ignore; the plainest space for ``memorization`` (copies of training images).

Every extractor takes images in [-1, 1], [N, C, H, W], and returns float features [N, D]. Real and
generated images pass through the one ``prepare`` on the way in, so they are resized alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import platformdirs
import torch
import torch.nn.functional as F

from gankit.classify import load_classifier
from gankit.progress import bar

SHIPPED = Path(__file__).resolve().parent / "weights"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
INCEPTION_ENV = "GANKIT_INCEPTION"


class FeatureError(ValueError):
    """A feature extractor that cannot be used here; the message says how to get it."""


@dataclass
class Extractor:
    name: str
    dim: int
    fn: Callable[[torch.Tensor], torch.Tensor]
    resolution: int | None  # input size the network expects (None: any)
    channels: int | None
    identity: str  # what the cache key hashes: name + weights digest
    digest: str = ""  # sha256 of the weights: which feature space a stored number was measured in
    logits: Callable[[torch.Tensor], torch.Tensor] | None = None  # class logits, for classifier extractors
    classes: int = 0  # how many classes the logits tell apart
    class_names: list[str] | None = None  # their names, in logit order, when the classifier recorded them
    trained_on: str | None = None  # the data a classifier was trained on (its config.json's "data")
    calibration: dict | None = None  # floor and ceiling recorded by `gankit features calibrate --record`

    def scale(self) -> str:
        """One line placing an FD in this space: its floor (real vs test) and ceiling (noise), when recorded."""
        c = self.calibration
        if not c:
            return (f"{self.name} space: not calibrated (no floor or ceiling recorded; "
                    f"`gankit features calibrate {self.name}` measures them)")
        return (f"{self.name} space: floor {c['floor']:.3g} (real vs test), ceiling {c['ceiling']:.4g} (noise), "
                f"{c['n']} images each")

    @torch.no_grad()
    def class_probs(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        if self.logits is None:
            raise FeatureError(f"--features {self.name}: has no class head; is, cacc and cas need a classifier "
                               f"(fmnist or classifier:PATH)")
        return torch.cat([self.logits(self._fit(images[i:i + batch])).float().softmax(1).cpu()
                          for i in range(0, len(images), batch)])

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        out = []
        with bar(len(images), f"{self.name} features") as shown:
            for i in range(0, len(images), batch):
                out.append(self.fn(self._fit(images[i:i + batch])).float().cpu())
                shown.update(len(out[-1]))
        return torch.cat(out)

    def _fit(self, x: torch.Tensor) -> torch.Tensor:
        return prepare(x, self.channels, self.resolution)


def prepare(x: torch.Tensor, channels: int | None, resolution: int | None) -> torch.Tensor:
    """Images in [-1, 1] as an extractor takes them, the same for real and generated ones.

    Values are clamped and put on the 8-bit grid real images come on (a generated image is judged
    as it would be saved), grayscale is tiled to RGB (as the FID protocols do) or RGB averaged to
    grey, and the size goes from the model's to the extractor's by antialiased bilinear resizing:
    without antialiasing, downsizing aliases fine detail and the distance measures the resize.
    """
    x = x.float().clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1)
    if channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif channels == 1 and x.shape[1] == 3:
        x = x.mean(1, keepdim=True)
    if resolution and tuple(x.shape[-2:]) != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return x


def classifier_extractor(folder: Path, name: str, device="cpu") -> Extractor:
    model, config = load_classifier(folder, device)
    net = config["network"]

    def fn(x):
        return model.features(x.to(device).float())

    def logits(x):
        return model(x.to(device).float())

    self_supervised = config.get("self_supervised") is True  # its class head was never trained: no classes
    calibration = config.get("calibration")
    if not (isinstance(calibration, dict) and calibration.get("sha256") == config["sha256"]):
        calibration = None  # measured on other weights: not this space's scale
    return Extractor(name, net["feature_dim"], fn, net["img_resolution"], net["img_channels"],
                     f"{name}:{config['sha256']}", config["sha256"], None if self_supervised else logits,
                     0 if self_supervised else net.get("num_classes", 10),
                     None if self_supervised else net.get("class_names"), trained_on=config.get("data"),
                     calibration=calibration)


def pixel_extractor() -> Extractor:
    """The images as vectors, at whatever size they come: distances between the pixels themselves."""
    return Extractor("pixels", 0, lambda x: x.flatten(1), None, None, "pixels", "")


def inception_path() -> Path:
    candidates = [Path(os.environ[INCEPTION_ENV])] if os.environ.get(INCEPTION_ENV) else []
    candidates.append(Path(platformdirs.user_cache_dir("gankit")) / "inception" / INCEPTION_FILE)
    for p in candidates:
        if p.is_file():
            return p
    raise FeatureError(
        f"--features inception: the Inception-v3 weights are not on this machine. Looked at: "
        f"{', '.join(str(p) for p in candidates)}. On a connected machine download {INCEPTION_URL} "
        f"and copy it to {candidates[-1]} (or point ${INCEPTION_ENV} at it). Offline alternatives: "
        f"--features fmnist, or a feature network of your own (`gankit features train folder:PATH`).")


def inception_extractor(device="cpu") -> Extractor:
    path = inception_path()
    if not path.name.endswith("6726825d.pth"):
        raise FeatureError(f"{path}: expected the file {INCEPTION_FILE}")
    try:
        torch.load(path, map_location="cpu", weights_only=True)  # proves the file holds only tensors
    except Exception as e:
        raise FeatureError(f"{path}: not a plain weights file, refused ({e})") from None
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise FeatureError("--features inception needs torch-fidelity: pip install 'gankit[inception]'") from None
    model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path)).to(device)

    def fn(x):
        u8 = x.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
        return model(u8.to(device))[0]

    from gankit.model_folder import sha256

    digest = sha256(path)
    return Extractor("inception", 2048, fn, None, 3, f"inception:{digest}", digest)


def get_extractor(name: str, device="cpu") -> Extractor:
    if name == "fmnist":
        folder = SHIPPED / "fmnist"
        if not (folder / "config.json").exists():
            raise FeatureError(f"--features fmnist: the shipped weights are missing from {folder}; "
                               f"rebuild them with `gankit features train fashion-mnist --out {folder}`")
        return classifier_extractor(folder, "fmnist", device)
    if name == "inception":
        return inception_extractor(device)
    if name == "pixels":
        return pixel_extractor()
    if name.startswith("classifier:"):
        return classifier_extractor(Path(name.split(":", 1)[1]), name, device)
    if (Path(name) / "config.json").is_file():  # a folder of `gankit features train`, named by its path
        return classifier_extractor(Path(name), f"classifier:{name}", device)
    raise FeatureError(f"--features {name}: unknown; use fmnist, inception, pixels, or classifier:PATH (a folder "
                       f"written by `gankit features train`)")
