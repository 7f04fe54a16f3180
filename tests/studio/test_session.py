"""The session: recipes turned into latents, renders batched without changing a pixel, and a live run's newest
checkpoint followed (a damaged or vanished one leaves the loaded model in place)."""

import threading

import pytest
import torch

from gankit import run_folder, sampling
from gankit.studio import session as session_module
from gankit.studio.session import RecipeError
from tests.studio.conftest import open_session


def test_a_seed_draws_what_gankit_sample_draws_for_it(export_session):
    recipe = export_session.check_recipe({"seed": 11})
    assert torch.equal(export_session.final_latent(recipe), sampling.latents(1, 100, 11)[0])


def test_truncation_and_edits_make_the_final_latent(export_session):
    direction = torch.nn.functional.normalize(torch.randn(100), dim=0)
    export_session.directions["unit-test"] = ("taught", direction, {})
    try:
        recipe = export_session.check_recipe({"seed": 3, "truncation": 0.5,
                                              "edits": [{"direction": "unit-test", "alpha": 2.0}]})
        want = sampling.truncate(sampling.latents(1, 100, 3)[0], 0.5) + 2.0 * direction
        assert torch.allclose(export_session.final_latent(recipe), want)
    finally:
        del export_session.directions["unit-test"]


def test_a_given_z_is_kept_as_float32_values(export_session):
    z = [0.1] * 100
    recipe = export_session.check_recipe({"z": z})
    assert recipe["z"][0] == float(torch.tensor(0.1, dtype=torch.float32)) and recipe["seed"] is None
    assert torch.equal(export_session.final_latent(recipe), torch.full((100,), 0.1))


@pytest.mark.parametrize("recipe,param", [
    ({}, "seed"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"),
    ({"z": [1.0]}, "z"), ({"z": [float("nan")] * 100}, "z[0]"), ({"z": ["a"] * 100}, "z[0]"),
    ({"seed": 1, "class": 0}, "class"), ({"seed": 1, "truncation": 3}, "truncation"),
    ({"seed": 1, "truncation": "x"}, "truncation"), ({"seed": 1, "edits": [{"direction": "nope", "alpha": 1}]},
                                                    "edits[0].direction"),
    ({"seed": 1, "edits": "x"}, "edits"), ({"seed": 1, "edits": [3]}, "edits[0]"), ([], "recipe"),
])
def test_a_bad_recipe_value_is_named(export_session, recipe, param):
    with pytest.raises(RecipeError) as e:
        export_session.check_recipe(recipe)
    assert e.value.param == param and str(e.value).startswith(param + ":")


def test_a_conditional_models_class_defaults_to_the_seeds_turn(cond_run):
    session = open_session(run=cond_run)
    assert session.check_recipe({"seed": 13})["class"] == 3
    with pytest.raises(RecipeError, match="class: 10 is outside"):
        session.check_recipe({"seed": 1, "class": 10})


def test_concurrent_renders_are_batched_and_identical_to_renders_alone(cond_run):
    session = open_session(run=cond_run)
    recipes = [session.check_recipe({"seed": s, "truncation": 0.8}) for s in range(16)]
    alone = [session.png(r) for r in recipes]
    calls = session.batcher.calls
    together, barrier = [None] * 16, threading.Barrier(16)

    def draw(i):
        barrier.wait()
        together[i] = session.png(recipes[i])

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone
    assert session.batcher.calls - calls < 16  # some requests shared a call of G
    assert len(set(alone)) == 16


def add_checkpoint(run, step: int, scale: float = 1.5):
    """A newer checkpoint of ``run``: its first checkpoint's weights scaled, saved as step ``step``."""
    state = run_folder.load_checkpoint(run_folder.checkpoint_path(run, 2))
    state["step"] = step
    state["nets"]["G"] = {k: v * scale if v.is_floating_point() else v for k, v in state["nets"]["G"].items()}
    torch.save(state, run_folder.checkpoint_path(run, step))


def test_sampling_follows_the_runs_newest_checkpoint(run_copy, monkeypatch):
    monkeypatch.setattr(session_module, "RELOAD_CHECK_S", 0.0)
    session = open_session(run=run_copy)
    session.directions["sefa-0"] = ("sefa", torch.ones(100) / 10, {})
    session.directions["mine"] = ("taught", torch.ones(100) / 10, {})
    recipe = session.check_recipe({"seed": 5})
    before = session.png(recipe)
    assert session.model_info()["step"] == 2
    add_checkpoint(run_copy, 3)
    assert session.model_info()["step"] == 3 and session.version == 1
    assert session.png(recipe) != before
    assert set(session.directions) == {"mine"}  # computed from the old weights: dropped; the user's: kept


def test_a_damaged_or_vanished_newest_checkpoint_keeps_the_model(run_copy, monkeypatch):
    monkeypatch.setattr(session_module, "RELOAD_CHECK_S", 0.0)
    session = open_session(run=run_copy)
    run_folder.checkpoint_path(run_copy, 9).write_bytes(b"cut short")
    assert session.model_info()["step"] == 2 and session.version == 0
    gone = run_folder.checkpoint_path(run_copy, 12)
    monkeypatch.setattr(run_folder, "latest", lambda run: gone)  # listed, then rotated away before it was read
    assert session.model_info()["step"] == 2 and session.version == 0
    monkeypatch.undo()
    monkeypatch.setattr(session_module, "RELOAD_CHECK_S", 0.0)
    add_checkpoint(run_copy, 10)
    assert session.model_info()["step"] == 10


def test_a_latent_renders_the_same_floats_alone_or_among_others(export_session):
    z = torch.stack([sampling.latents(1, 100, s)[0] for s in range(6)])
    calls = export_session.batcher.calls
    together = export_session.render_latents(z)
    assert export_session.batcher.calls - calls < 6
    alone = torch.stack([export_session.render_latents(z[i:i + 1])[0] for i in range(6)])
    assert torch.equal(together, alone)


def test_saved_directions_become_edits_and_misfits_are_skipped(dcgan_export, tmp_path):
    import numpy as np

    from gankit.latent.directions import save_direction

    save_direction(tmp_path / "good.npy", np.ones(100, dtype=np.float32) / 10, {"why": "test"})
    save_direction(tmp_path / "short.npy", np.ones(5, dtype=np.float32), {})
    with pytest.warns(UserWarning, match="short.npy"):
        session = open_session(export=dcgan_export, directions=tmp_path)
    assert session.directions["good"][0] == "saved" and "short" not in session.directions
    recipe = session.check_recipe({"seed": 1, "edits": [{"direction": "good", "alpha": 2}]})
    assert torch.allclose(session.final_latent(recipe), sampling.latents(1, 100, 1)[0] + 2 * torch.ones(100) / 10)


def test_a_recipe_editing_along_an_unsupervised_direction_works_before_any_listing(dcgan_export):
    """A PNG dropped on a fresh studio may edit along sefa-0 before the start-up computation has run."""
    session = open_session(export=dcgan_export)
    assert "sefa-0" not in session.directions
    recipe = session.check_recipe({"seed": 3, "edits": [{"direction": "sefa-0", "alpha": 2.0}]})
    assert recipe["edits"] == [{"direction": "sefa-0", "alpha": 2.0}]
    assert not torch.equal(session.final_latent(recipe), session.final_latent({**recipe, "edits": []}))
