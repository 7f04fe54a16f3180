"""The inference layer: any generator loaded from a checkpoint, a run folder or an export, sampled the one way,
without the trainer or the recipes ever being imported."""

import subprocess
import sys

import pytest
import torch

from gankit import inference, nets
from gankit.config import ConfigError
from gankit.run_folder import CheckpointError
from tests.test_export import tiny_state


def with_ema(state: dict) -> dict:
    """The state with a moving average of G that differs from G."""
    G = nets.from_config(state["net_configs"]["G"])
    G.load_state_dict(state["nets"]["G"])
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.5)
    return {**state, "G_ema": G.state_dict()}


def run_folder_with(tmp_path, state) -> str:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "run" / "checkpoints" / "ckpt-00000001.pt")
    return str(tmp_path / "run")


def test_importing_inference_imports_no_training_code():
    code = ("import sys, gankit.inference, gankit.run_folder, gankit.export\n"
            "bad = sorted(m for m in sys.modules if m.startswith(('gankit.train', 'gankit.recipes', 'gankit.losses',"
            " 'gankit.regularizers')))\nprint(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_net_sampled_is_the_moving_average_unless_asked_for_G(tmp_path):
    run = run_folder_with(tmp_path, with_ema(tiny_state()))
    z = torch.randn(3, 4)
    auto, ema, g = (inference.load(run=run, net=net) for net in ("auto", "ema", "G"))
    assert auto.meta["ema"] and ema.meta["ema"] and not g.meta["ema"]
    assert torch.equal(auto.render(z), ema.render(z))
    assert not torch.allclose(auto.render(z), g.render(z))
    assert auto.meta["checkpoint"].endswith("ckpt-00000001.pt")


def test_asking_for_a_moving_average_the_run_did_not_keep_names_the_file(tmp_path):
    run = run_folder_with(tmp_path, tiny_state())
    with pytest.raises(CheckpointError, match="ckpt-00000001.pt: the run kept no moving average"):
        inference.load(run=run, net="ema")
    with pytest.raises(ConfigError, match="--net best: use one of auto, ema, G"):
        inference.load(run=run, net="best")


def test_render_is_batched_and_the_batch_size_does_not_change_the_images(tmp_path):
    gen = inference.load(run=run_folder_with(tmp_path, tiny_state()))
    assert (gen.z_dim, gen.num_classes, gen.kind, gen.shape) == (4, 0, "image", [1, 8, 8])
    z = torch.randn(7, 4)
    seen = []
    whole = gen.render(z, batch=7)
    parts = gen.render(z, batch=3, done=seen.append)
    assert seen == [3, 3, 1] and whole.shape == (7, 1, 8, 8) and whole.dtype == torch.float32
    torch.testing.assert_close(parts, whole)


def test_a_conditional_generator_needs_a_class_for_every_latent():
    G = nets.build("dcgan-g", z_dim=4, img_resolution=8, img_channels=1, width=4, c_dim=3).eval()
    gen = inference.Generator(G, {"z_dim": 4, "class_names": ["a", "b"], "shape": [1, 8, 8]})
    assert gen.num_classes == 3 and gen.class_names == ["a", "b", "2"]
    with pytest.raises(ConfigError, match="class-conditional"):
        gen.render(torch.zeros(2, 4))
    assert gen.render(torch.zeros(2, 4), torch.tensor([0, 2])).shape == (2, 1, 8, 8)


def masked_state() -> dict:
    """A tiny checkpoint of a run trained with data.mask: its G makes one grey channel and the content mask."""
    G = nets.build("dcgan-g", z_dim=4, img_resolution=8, img_channels=2, width=4)
    return {"gankit_version": "test", "config": {"recipe": "dcgan", "data": "folder:x", "z_dim": 4, "data.mask": True},
            "step": 1, "nimg": 16, "nets": {"G": G.state_dict()}, "net_configs": {"G": G.config},
            "data_info": {"kind": "image", "shape": [2, 8, 8], "class_names": []}, "G_ema": None}


def test_a_generator_with_a_content_mask_renders_image_channels_unless_asked(tmp_path):
    G = inference.load(run=run_folder_with(tmp_path, masked_state()))
    assert G.mask and G.meta["mask"] is True and G.shape == [1, 8, 8]  # the record speaks of the images
    z = torch.randn(5, 4)
    images, whole = G.render(z), G.render(z, with_mask=True)
    assert images.shape == (5, 1, 8, 8) and whole.shape == (5, 2, 8, 8) and torch.equal(whole[:, :1], images)
    assert torch.equal(inference.render(G.net, z), images)  # the function every command calls, given the net
    pictures, mask = inference.split_mask(whole)
    assert torch.equal(pictures, images) and mask.dtype == torch.bool and torch.equal(mask, whole[:, 1] > 0)
    assert set(whole[:, 1].unique().tolist()) <= {-1.0, 1.0}  # drawn as in training: the mask exact,
    assert (pictures[:, 0][~mask] == -1.0).all()  # and the padding level (none recorded: black) outside it


def test_a_generator_without_a_mask_renders_all_its_channels(tmp_path):
    from tests.test_export import tiny_state

    G = inference.load(run=run_folder_with(tmp_path, tiny_state(4)))
    assert not G.mask and G.meta["mask"] is False
    z = torch.randn(2, 4)
    assert G.render(z).shape == G.render(z, with_mask=True).shape == (2, 1, 8, 8)
