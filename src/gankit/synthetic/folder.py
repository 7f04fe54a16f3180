"""Write a synthetic dataset whole, in the layout image tools read.

``OUT/images/CLASS/NNNNNN.png`` (class subfolders that sort in label order, so ``gankit train --data
folder:OUT/images`` and torchvision's ``ImageFolder`` give every image its label index; no subfolders when
unlabelled), ``labels.csv`` (file, label
index, class name, the labeller's confidence), ``latents.npy`` (row i made image i) and ``dataset.json``
(what made it). The folder is replaced only once complete, and never one that lacks ``dataset.json``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from gankit.atomic import write_folder
from gankit.synthetic.labelled import Synthetic

MARKER = "dataset.json"


def folder_names(class_names: list[str]) -> list[str]:
    """A folder name per class, sorting in label order, since folder readers (gankit's, torchvision's
    ``ImageFolder``) number classes in sorted order. Path separators and other awkward characters become
    ``_`` and names that end up equal get a numeric suffix; when the names alone would not sort in label
    order, each is prefixed with its label (``0-T-shirt_top``, ``1-Trouser``, ...)."""
    names: list[str] = []
    for name in class_names:
        safe = re.sub(r"[^\w .+-]+", "_", name).strip(" .") or "class"
        candidate, i = safe, 2
        while candidate.lower() in (n.lower() for n in names):
            candidate, i = f"{safe}_{i}", i + 1
        names.append(candidate)
    if names != sorted(names):
        width = len(str(len(names) - 1))
        names = [f"{c:0{width}d}-{name}" for c, name in enumerate(names)]
    return names


def write_dataset(out: Path, data: Synthetic, record: dict) -> Path:
    """Write ``data`` into ``out`` (see the module docstring); ``record`` goes into dataset.json."""
    labelled = data.labels is not None
    folders = folder_names(data.class_names) if labelled else []
    width = max(6, len(str(len(data) - 1)))
    files = [Path("images", *([folders[int(c)]] if labelled else []), f"{i:0{width}d}.png").as_posix()
             for i, c in enumerate(data.labels.tolist() if labelled else [None] * len(data))]
    classes = ([{"label": c, "name": name, "folder": f"images/{folder}", "count": count, "asked": asked}
                for c, (name, folder, count, asked) in enumerate(zip(data.class_names, folders, data.counts(),
                                                                     data.quota))] if labelled else None)
    shape = list(data.images.shape[1:]) if hasattr(data.images, "shape") else None  # a list: images of many sizes
    meta = {**record, "count": len(data), "drawn": data.drawn, "image_shape": shape,
            "classes": classes, "files": "images/CLASS/NNNNNN.png" if labelled else "images/NNNNNN.png"}

    def fill(folder: Path) -> None:
        for sub in {Path(f).parent for f in files}:
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for file, image in zip(files, data.images):
            array = image.permute(1, 2, 0).numpy()
            Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(folder / file)
        np.save(folder / "latents.npy", data.latents.numpy())
        if labelled:
            with open(folder / "labels.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["file", "label", "class"] + (["confidence"] if data.confidence is not None else []))
                for i, (file, c) in enumerate(zip(files, data.labels.tolist())):
                    writer.writerow([file, c, data.class_names[c]]
                                    + ([f"{float(data.confidence[i]):.4f}"] if data.confidence is not None else []))
        (folder / MARKER).write_text(json.dumps(meta, indent=1) + "\n")

    return write_folder(Path(out), fill, MARKER)
