"""Metrics during training: every ``eval.every_kimg`` evaluate the sampling generator, log it, keep the best checkpoint.

Evaluation draws its own latents from a fixed seed and never touches the training RNGs, so a
run with evaluation trains exactly like one without.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from gankit.atomic import write_file
from gankit import run_folder
from gankit.train import checkpoint

# For each metric, whether larger is better (the best checkpoint follows ``eval.best``).
HIGHER_IS_BETTER = {"fd": False, "kid": False, "precision": True, "recall": True, "density": True,
                    "coverage": True, "hq_percent": True, "modes": True, "reverse_kl": False}


class PeriodicEval:
    """``data``: the run's training data; evaluation uses it when it evaluates on the same data (an image folder)
    instead of decoding the folder a second time."""

    def __init__(self, cfg: dict, device, data=None):
        self.every = max(1, int(cfg["eval.every_kimg"] * 1000)) if cfg["eval.every_kimg"] > 0 else 0
        self.metrics = [m for m in cfg["eval.metrics"].split(",") if m]
        self.n, self.features, self.best_key = cfg["eval.n"], cfg["eval.features"] or None, cfg["eval.best"]
        if self.best_key and self.best_key not in HIGHER_IS_BETTER:
            from gankit.config import ConfigError

            raise ConfigError(f"--set eval.best={self.best_key}: use one of {', '.join(HIGHER_IS_BETTER)}")
        self.cfg, self.device, self._training_data = cfg, device, data
        self._data = self._extractor = None

    def check(self, classes: int) -> None:
        """Refuse metrics, features or data that cannot be evaluated now, not at the first evaluation mid-run."""
        if not self.enabled:
            return
        from gankit.config import ConfigError
        from gankit.metrics.evaluate import check_request

        try:
            if "cas" in self.metrics:
                raise ValueError("--metrics cas: trains two classifiers per evaluation; run `gankit eval --metrics "
                                 "cas` on a checkpoint instead")
            _, _, self._extractor = check_request(self.data(), self.metrics or None, self.features, classes,
                                                  self.device, n=self.n)
        except ValueError as e:  # FeatureError, DataError and ModelFolderError too
            raise ConfigError(f"evaluation during training (--set eval.every_kimg={self.cfg['eval.every_kimg']:g}, "
                              f"eval.metrics, eval.features, eval.n): {e}") from None

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def due(self, before: int, after: int) -> bool:
        return self.enabled and before // self.every != after // self.every

    def data(self):
        if self._data is None:
            from gankit.data.from_config import load_data
            from gankit.metrics.evaluate import eval_data_spec

            spec = eval_data_spec(self.cfg["data"])
            same = spec == self.cfg["data"] and self._training_data is not None
            self._data = self._training_data if same else load_data({**self.cfg, "data": spec})
        return self._data

    def run(self, trainer) -> dict:
        from gankit.metrics.evaluate import evaluate

        G = trainer.sampling_net()
        was_training = G.training
        try:
            result = evaluate(G, {"z_dim": trainer.latent_dim}, self.data(), metrics=self.metrics or None, n=self.n,
                              features=self.features, device=trainer.device, extractor=self._extractor)
        finally:
            G.train(was_training)
        values = result["metrics"]
        trainer.writer.write(trainer.step, trainer.nimg, {f"Metrics/{k}": float(v) for k, v in values.items()})
        if self.best_key and self.best_key in values:
            self._keep_if_best(trainer, values, result)
        return values

    def _keep_if_best(self, trainer, values: dict, result: dict) -> None:
        best_json = trainer.run_dir / run_folder.BEST_RECORD
        value = float(values[self.best_key])
        if not math.isfinite(value):
            return  # a diverged generator is never the best; the trainer stops at its next log step or checkpoint
        digest = result.get("features_sha256")
        old = _read_best(best_json)
        if old is not None and old.get("features_sha256") != digest:
            trainer.log(f"{best_json}: measured in another feature space (weights {old.get('features_sha256')}, now "
                        f"{digest}); its value is not comparable, so the next evaluation replaces it")
        elif old is not None:
            better = value > old["value"] if HIGHER_IS_BETTER[self.best_key] else value < old["value"]
            if not better:
                return
        state = trainer.state_dict()
        if checkpoint.first_nonfinite(checkpoint.weights(state)) is not None:
            return
        checkpoint.save(state, trainer.run_dir / run_folder.BEST)
        record = {"metric": self.best_key, "value": value, "step": trainer.step, "kimg": trainer.nimg / 1000,
                  "metrics": values, "protocol": result["protocol"], "features_sha256": digest}
        write_file(best_json, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2) + "\n"))


def _read_best(path: Path) -> dict | None:
    """The record of the best checkpoint so far, or None when there is none or it cannot be read."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("value"), (int, float)) else None
