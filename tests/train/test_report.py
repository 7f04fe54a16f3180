"""One naming of the logged quantities (progress bar, stats.jsonl, TensorBoard, losses.png), and loss plots
drawn from every log line, also for short runs and for runs of earlier versions."""

import json

import pytest

from gankit.train.report import loss_plot_series, write_loss_plot
from gankit.train.run import open_run
from gankit.train.stats import log_interval, read_stats, short_name
from tests.helpers import FAST

QUIET = ["snapshot.every_kimg=1000", "ckpt.every_kimg=1000"]  # FAST without its log.every


def _train(tmp_path, recipe, steps, sets, progress_bar=False):
    trainer = open_run(recipe=recipe, data="ring8", steps=steps, batch=16, out=str(tmp_path / recipe), sets=sets,
                       progress_bar=progress_bar, log=lambda s: None)
    trainer.fit()
    return trainer


def _tensorboard_tags(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return set(events.Tags()["scalars"])


@pytest.mark.parametrize("recipe,bar,absent", [
    ("nsgan", ["G_loss=", "D_loss_real=", "D_loss_fake="], ["G=", "D/real", "D/fake"]),
    ("vae", ["recon_loss=", "KL_loss=", "total_loss="], ["G=", "G_loss", "Loss/G"]),
])
def test_losses_and_logits_have_one_name_on_the_bar_in_the_stats_tensorboard_and_plot(tmp_path, capsys, recipe, bar,
                                                                                       absent):
    trainer = _train(tmp_path, recipe, 10, FAST + ["G.hidden=16", "D.hidden=16"][:2 if recipe == "nsgan" else 1],
                     progress_bar=True)
    shown = capsys.readouterr().err
    for name in bar:
        assert name in shown, shown
    for name in absent:
        assert name not in shown, shown
    record = read_stats(trainer.run_dir)[-1]
    assert all(k in record for k in trainer.objective.progress)  # the bar shows logged quantities, by short name
    assert {short_name(k) + "=" for k in trainer.objective.progress} == set(bar)
    raw = json.loads((trainer.run_dir / "stats.jsonl").read_text().splitlines()[-1])
    tags = _tensorboard_tags(trainer.run_dir)
    assert tags == set(raw) - {"step", "kimg"}
    if recipe == "nsgan":
        assert {"Loss/G", "Loss/D/real", "Loss/D/fake", "Loss/D", "Logits/D/real", "Logits/D/fake"} <= tags
        assert "D/real" not in raw and "D/fake" not in raw  # D's outputs are logits and say so
    else:
        assert {"Loss/recon", "Loss/KL", "Loss/total"} <= tags and not any(t.startswith("Loss/G") for t in tags)
    panels = dict(loss_plot_series(read_stats(trainer.run_dir)))
    assert all(k.startswith("Loss/") for k in panels["losses"])
    assert set(panels["losses"]) == {k for k in raw if k.startswith("Loss/")}
    assert list(panels.get("discriminator logits (mean)", {})) == (["Logits/D/real", "Logits/D/fake"]
                                                                  if recipe == "nsgan" else [])


def test_short_names_say_whose_loss_or_logit():
    assert [short_name(k) for k in ("Loss/G", "Loss/D/real", "Loss/D/fake", "Logits/D/real", "Loss/recon",
                                    "Loss/total", "Loss/C/real", "Augment/p")] == \
        ["G_loss", "D_loss_real", "D_loss_fake", "D_logit_real", "recon_loss", "total_loss", "C_loss_real", "Augment/p"]


def test_the_stats_of_runs_of_earlier_versions_still_plot_under_todays_names(tmp_path):
    gan, vae = tmp_path / "gan", tmp_path / "vae"
    for run, lines in ((gan, [{"Loss/G": 0.7, "Loss/D/real": 0.6, "Loss/D/fake": 0.5, "Loss/D": 1.1, "D/real": 0.3,
                               "D/fake": -0.2}]),
                       (vae, [{"Loss/recon": 200.0, "Loss/KL": 9.0, "Loss/G": 209.0}])):
        run.mkdir()
        (run / "stats.jsonl").write_text("".join(json.dumps({"step": 10 * (i + 1), "kimg": 0.16 * (i + 1), **line}) + "\n"
                                                 for i in range(3) for line in lines))
    panels = dict(loss_plot_series(read_stats(gan)))
    assert panels["discriminator logits (mean)"]["Logits/D/real"] == [(0.16, 0.3), (0.32, 0.3), (0.48, 0.3)]
    assert "D/real" not in panels["losses"] and "Loss/G" in panels["losses"]
    assert set(dict(loss_plot_series(read_stats(vae)))["losses"]) == {"Loss/recon", "Loss/KL", "Loss/total"}
    for run in (gan, vae):
        assert write_loss_plot(run, run / "losses.png").stat().st_size > 0


def test_a_47_step_runs_loss_plot_is_drawn_from_every_log_line_and_has_a_shape(tmp_path):
    """Left at log.every=50, a 47-step run would log once; it logs often enough for a curve instead."""
    trainer = _train(tmp_path, "nsgan", 47, QUIET + ["G.hidden=16", "D.hidden=16"])
    records = read_stats(trainer.run_dir)
    assert trainer.cfg["log.every"] == 50 and records[-1]["step"] == 47
    losses = dict(loss_plot_series(records))["losses"]
    assert len(losses["Loss/G"]) == len(records) >= 10
    assert [kimg for kimg, _ in losses["Loss/G"]] == [r["kimg"] for r in records]


def test_log_lines_keep_log_every_in_long_runs_and_come_at_least_20_times_in_short_ones():
    assert log_interval(5000, 50) == 50 and log_interval(100_000, 50) == 50 and log_interval(200, 5) == 5
    assert log_interval(47, 50) == 2 and log_interval(500, 50) == 25
    assert log_interval(12, 10) == 1 and log_interval(1, 50) == 1
