"""Exported generators: ``config.json`` + ``generator.safetensors``, no pickles, loadable without training code
(``gankit.inference`` loads them)."""

from __future__ import annotations

from pathlib import Path

import gankit
from gankit import model_folder
# Loading lives with inference; these names stay importable from here for scripts written against them.
from gankit.inference import (ExportError, check_meta, load_any, load_checkpoint_generator, load_export,  # noqa: F401
                              meta_from_state, newest_checkpoint, output_shape, _from_checkpoint)


def export_checkpoint(checkpoint_path: Path, out_dir: Path, state: dict | None = None) -> Path:
    """Write an export of a training checkpoint into ``out_dir``, replacing an older export only once complete."""
    G, meta = _from_checkpoint(checkpoint_path, state)
    meta["exported_by"] = f"gankit {gankit.__version__}"
    return model_folder.save(G, Path(out_dir), "generator", meta)
