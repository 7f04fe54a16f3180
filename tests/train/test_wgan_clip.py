"""WGAN keeps every critic weight in [-c, c] after every critic step."""

from tests.helpers import FAST, TINY_CONV
from gankit.train.run import open_run


def test_every_critic_step_leaves_weights_clipped(tmp_path, small_images):
    seen = {"D": 0, "G": 0, "max_abs": 0.0}

    def check(trainer, phase):
        seen[phase.name] += 1
        if phase.name == "D":
            c = trainer.cfg["clip"]
            for p in trainer.objective.nets["D"].parameters():
                seen["max_abs"] = max(seen["max_abs"], p.abs().max().item())
                assert p.min() >= -c and p.max() <= c

    trainer = open_run(recipe="wgan", data=f"folder:{small_images}", steps=6, batch=16, out=str(tmp_path / "r"),
                       sets=FAST + TINY_CONV + ["D.lr=0.05"], progress_bar=False, callbacks=[check], log=lambda s: None)
    # Weights start far outside [-c, c] for some layers (batch-norm scales near 1), so clipping must act.
    assert max(p.abs().max().item() for p in trainer.objective.nets["D"].parameters()) > 0.01
    trainer.fit()
    assert seen["D"] == 6 * 5 and seen["G"] == 6
    assert 0.009 < seen["max_abs"] <= 0.01
