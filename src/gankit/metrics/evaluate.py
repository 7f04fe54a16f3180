"""Evaluate a generator against real data: the metrics by name, their protocol, and the real-feature cache.

Real-data features are cached on disk keyed by a hash of the images and the extractor (its name and
weights digest, so features of other weights are never reused), and written atomically, so repeated evaluations (during training, across recipes) extract them once.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
import platformdirs
import torch

from gankit.data import ImageData, Mixture
from gankit.metrics.classifier_scores import classification_accuracy_score, conditional_accuracy, inception_style_score
from gankit.metrics.features import Extractor, get_extractor
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.metrics.kid import kernel_inception_distance
from gankit.metrics.memorization import memorization, pairs_image
from gankit.metrics.modes import count_modes, count_stacked_modes
from gankit.metrics.prdc import K_DC, K_PR, prdc
from gankit.atomic import save_npy, write_file
from gankit.inference import render
from gankit.sampling import save_png
from gankit.progress import bar

IMAGE_METRICS = ("fd", "kid", "pr", "dc", "is", "cacc", "cas", "memorization", "modes")
DEFAULT_IMAGE_METRICS = ("fd", "kid", "pr", "dc")
POINT_METRICS = ("modes",)
FD_WARN_BELOW = 2000
DIGEST = 16  # hex digits of the feature weights' sha256 stored beside each result
CACHE_DIR = Path(platformdirs.user_cache_dir("gankit")) / "features"
PAIRS = 16  # closest (sample, training image) pairs drawn by ``memorization``


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def real_subset(data: ImageData, n: int | None) -> torch.Tensor:
    """The images of ``data.subset(n)``: a fixed random draw, the same every time."""
    return data.subset(n).images


def real_features(data: ImageData, extractor: Extractor, n: int | None = None) -> torch.Tensor:
    """Features of ``real_subset(data, n)``, from the cache when present (``pixels`` are the images: not cached)."""
    images = real_subset(data, n)
    if not extractor.digest:
        return extractor(to_float(images))
    digest = hashlib.sha256(images.numpy().tobytes()).hexdigest()[:16]
    key = hashlib.sha256(f"{extractor.identity}|{digest}|{tuple(images.shape)}".encode()).hexdigest()[:24]
    path = CACHE_DIR / f"{key}.npy"
    if path.is_file():
        try:
            return torch.from_numpy(np.load(path))
        except (ValueError, OSError):
            path.unlink(missing_ok=True)  # a damaged cache entry is recomputed
    feats = extractor(to_float(images))
    save_npy(path, feats.numpy())
    return feats


def generate(G, z_dim: int, n: int, seed: int, batch: int = 500, device="cpu"):
    """(n samples, their requested labels or None); a conditional G gets uniformly drawn classes."""
    g = torch.Generator().manual_seed(seed)
    c_dim = getattr(G, "c_dim", 0)
    labels = torch.randint(c_dim, (n,), generator=g) if c_dim else None
    z = torch.cat([torch.randn(min(batch, n - i), z_dim, generator=g) for i in range(0, n, batch)])  # as before
    with bar(n, "generating") as shown:
        return render(G, z, labels, batch, device, shown.update), labels


def image_metrics(real: torch.Tensor, fake: torch.Tensor, metrics: list[str], seed: int = 0) -> dict:
    out: dict = {}
    if "fd" in metrics:
        if min(len(real), len(fake)) < FD_WARN_BELOW:
            warnings.warn(f"FD from {min(len(real), len(fake))} samples is biased upward; use --n >= {FD_WARN_BELOW}",
                          UserWarning, stacklevel=2)
        out["fd"] = frechet_distance(*feature_stats(real), *feature_stats(fake))
    if "kid" in metrics:
        mean, std = kernel_inception_distance(real, fake, subsets=100, subset_size=min(1000, len(real), len(fake)),
                                              seed=seed)
        out["kid"], out["kid_std"] = mean, std
    if "pr" in metrics or "dc" in metrics:
        values = prdc(real, fake)
        if "pr" in metrics:
            out["precision"], out["recall"] = values["precision"], values["recall"]
        if "dc" in metrics:
            out["density"], out["coverage"] = values["density"], values["coverage"]
    return out


def check_request(data, metrics: list[str] | None, features: str | None, classes: int, device="cpu", *,
                  n: int, labelled_train_data: bool = False, extractor=None, memorization_images: int | None = None):
    """(metrics with the defaults filled in, features name, extractor) for ``n`` samples of a generator of
    ``classes`` classes (0: unconditional) against ``data``; for 2-D points the last two are None. What cannot
    run is a ValueError naming it, before any sample is drawn. ``extractor``: one built earlier, reused.
    ``memorization_images``: how many training images ``memorization`` would compare with (None: none given)."""
    if isinstance(data, Mixture):
        metrics = metrics or list(POINT_METRICS)
        bad = [m for m in metrics if m not in POINT_METRICS]
        if bad:
            raise ValueError(f"--metrics {','.join(bad)}: not defined for 2-D data; use {', '.join(POINT_METRICS)}")
        return metrics, None, None
    stacked = data.name.startswith("stacked-fmnist")
    metrics = metrics or (["modes"] if stacked else list(DEFAULT_IMAGE_METRICS))
    bad = [m for m in metrics if m not in IMAGE_METRICS]
    if bad:
        raise ValueError(f"--metrics {','.join(bad)}: unknown; available for images: {', '.join(IMAGE_METRICS)}")
    needs_labels = [m for m in metrics if m in ("cacc", "cas")]
    if needs_labels and not classes:
        raise ValueError(f"--metrics {','.join(needs_labels)}: need a class-conditional generator (cgan, acgan, ...)")
    if "cas" in metrics and not (labelled_train_data and data.labels is not None):
        raise ValueError("--metrics cas: needs labelled real training and test data")
    if "modes" in metrics and not stacked:
        raise ValueError(f"--metrics modes: counts the 1000 modes of stacked-fmnist (and the modes of ring8 and grid25), "
                         f"not of {data.name}")
    if metrics == ["modes"]:  # labelled by the shipped classifier: no feature space needed
        return metrics, None, None
    if "memorization" in metrics and (memorization_images or 0) < 2:
        raise ValueError("--metrics memorization: needs the model's training images (at least 2) to compare with"
                         + (f", got {memorization_images}" if memorization_images is not None else ""))
    k = max(K_PR, K_DC)  # one pass computes both
    if ("pr" in metrics or "dc" in metrics) and min(n, len(data)) <= k:
        raise ValueError(f"--metrics pr/dc: each sample's {k} nearest neighbours are needed, so more than {k} real "
                         f"and generated samples; --n {n} against {len(data)} real images")
    features = features or default_features(data)
    extractor = extractor or get_extractor(features, device)
    by_class = [m for m in metrics if m in ("is", "cacc")]
    if by_class and extractor.logits is None:
        raise ValueError(f"--metrics {','.join(by_class)}: need features with a class head (fmnist or "
                         f"classifier:PATH), not {features}")
    if "cacc" in metrics and extractor.classes != classes:
        raise ValueError(f"--metrics cacc: the generator draws {classes} classes, but --features {features} tells "
                         f"{extractor.classes} apart; give classifier:PATH trained on the generator's classes")
    return metrics, features, extractor


def evaluate(G, meta: dict, data, metrics: list[str] | None = None, n: int = 10000, features: str | None = None,
             seed: int = 0, device="cpu", train_data: ImageData | None = None, cas_epochs: int = 5,
             extractor=None, cas_test_data: ImageData | None = None, memorization_data: ImageData | None = None,
             pairs_path: Path | None = None) -> dict:
    """Run ``metrics`` on ``n`` samples of G against ``data``; returns results with their protocol.
    ``extractor``: the feature network of an earlier call with the same ``features``, reused.
    ``cas`` trains on ``train_data`` and tests on ``cas_test_data`` (default ``data``): held-out images,
    when the training images would otherwise be among them. ``memorization`` compares the samples with all of
    ``memorization_data`` (the model's training images) and draws the closest pairs to ``pairs_path``."""
    G = G.to(device).eval()
    start = time.perf_counter()
    metrics, features, extractor = check_request(
        data, metrics, features, getattr(G, "c_dim", 0), device, n=n,
        labelled_train_data=train_data is not None and train_data.labels is not None, extractor=extractor,
        memorization_images=None if memorization_data is None else len(memorization_data))
    if isinstance(data, Mixture):
        fake, _ = generate(G, meta["z_dim"], n, seed, device=device)
        report = count_modes(fake, data)
        results = report.as_dict()
        protocol = (f"{n} samples; HQ = within 3 std ({3 * data.std:g}) of the nearest of {data.num_modes} modes; "
                    "modes = means nearest to at least one HQ sample; reverse KL over HQ samples vs uniform")
        return {"metrics": results, "protocol": protocol, "data": data.name, "n": n, "seconds": time.perf_counter() - start}
    fake_images, fake_labels = generate(G, meta["z_dim"], n, seed, device=device)
    results = {}
    if "modes" in metrics:
        results.update(count_stacked_modes(fake_images, get_extractor("fmnist", device)))
        modes_protocol = (f"modes: {n} samples, each channel labelled by the shipped fmnist classifier "
                          f"({100 * fmnist_accuracy():.1f}% right on the Fashion-MNIST test images, so about "
                          f"{100 * fmnist_accuracy() ** 3:.0f}% of triples); a mode counts when a sample lands in it; "
                          f"reverse KL of the mode histogram against uniform")
        if extractor is None:
            return {"metrics": results, "protocol": modes_protocol, "data": data.name, "n": n,
                    "seconds": time.perf_counter() - start}
    distance_metrics = [m for m in metrics if m in DEFAULT_IMAGE_METRICS]
    fake_features = extractor(fake_images) if distance_metrics or "memorization" in metrics else None
    if distance_metrics:
        real = real_features(data, extractor, min(n, len(data)))
        results.update(image_metrics(real, fake_features, distance_metrics, seed))
    extra = {}
    if "memorization" in metrics:
        found = memorization(real_features(memorization_data, extractor), fake_features)
        results.update(found.metrics())
        closest = found.closest(PAIRS)
        extra["memorization_pairs"] = [{"sample": i, "train_image": j, "distance": d} for i, j, d in closest]
        if pairs_path is not None:
            train_images = to_float(memorization_data.images[[j for _, j, _ in closest]])
            save_png(pairs_image(fake_images, train_images, [(i, k, d) for k, (i, _, d) in enumerate(closest)]),
                     pairs_path)
            extra["memorization_image"] = str(pairs_path)
    if "is" in metrics or "cacc" in metrics:
        probs = extractor.class_probs(fake_images)
        if "is" in metrics:
            results["is"], results["is_std"] = inception_style_score(probs)
        if "cacc" in metrics:
            results["cacc"] = conditional_accuracy(probs.argmax(1), fake_labels)
    if "cas" in metrics:
        cas_test = cas_test_data if cas_test_data is not None else data
        results.update(classification_accuracy_score(fake_images, fake_labels, train_data, cas_test, cas_epochs, seed,
                                                     device))
    protocol = (f"{min(n, len(data))} real images ({data.name}{', a fixed random subset' if n < len(data) else ''}) "
                f"vs {n} generated (seed {seed}), "
                + (f"features: {features} ({extractor.dim}-d, weights sha256 {extractor.digest[:DIGEST]})"
                   if extractor.digest else f"features: {features} (no network)")
                + ("; not Inception: compare only with numbers in the same feature space" if features != "inception" else "")
                + (f"; cas: {n} generated and {min(n, len(train_data))} real training images, tested on "
                   f"{len(cas_test)} real images ({cas_test.name})" if "cas" in metrics else "")
                + (f"; memorization: each sample's nearest of all {len(memorization_data)} training images "
                   f"({memorization_data.name}) against the training images' leave-one-out nearest distances; "
                   f"memorized = share nearer than the smallest of those, memorized_p5 = nearer than their 5th "
                   f"percentile" if "memorization" in metrics else "")
                + (f"; {modes_protocol}" if "modes" in metrics else ""))
    return {"metrics": results, "protocol": protocol, "features": features, **extra,
            "features_sha256": extractor.digest[:DIGEST], "scale": extractor.scale(), "data": data.name, "n": n,
            "seconds": time.perf_counter() - start}


def fmnist_accuracy() -> float:
    """The shipped fmnist classifier's accuracy on the Fashion-MNIST test split, as its training recorded it."""
    from gankit.metrics.features import SHIPPED

    return float(json.loads((SHIPPED / "fmnist" / "config.json").read_text())["test_accuracy"])


def default_features(data: ImageData) -> str:
    """fmnist for 28x28 grayscale data, else inception (which needs its weights file)."""
    if data.channels == 1 and data.resolution == 28:
        return "fmnist"
    return "inception"


def eval_data_spec(train_spec: str) -> str:
    """The protocol's reference data: the held-out test split for (stacked) Fashion-MNIST, the training data
    otherwise."""
    held_out = {"fashion-mnist": "fashion-mnist:test", "fashion-mnist:train": "fashion-mnist:test",
                "stacked-fmnist": "stacked-fmnist:test", "stacked-fmnist:train": "stacked-fmnist:test"}
    return held_out.get(train_spec, train_spec)


def append_results(path: Path, entry: dict) -> None:
    """Add one evaluation to a JSON list file, atomically.

    A file there that is not such a list (hand-edited, truncated) is moved aside to ``<name>.unreadable``
    (``.unreadable2``, ... if that exists) with a warning, never overwritten, and the new results start a new list: nothing is lost.
    """
    path = Path(path)
    history: object = []
    if path.is_file():
        try:
            history = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            history = None
        if not isinstance(history, list):
            kept, n = path.with_name(path.name + ".unreadable"), 1
            while kept.exists():  # an earlier unreadable file stays too
                n += 1
                kept = path.with_name(f"{path.name}.unreadable{n}")
            path.replace(kept)
            warnings.warn(f"{path}: not a list of evaluations; moved to {kept}, the results start a new list")
            history = []
    history.append(entry)
    write_file(path, lambda tmp: Path(tmp).write_text(json.dumps(history, indent=2) + "\n"))
