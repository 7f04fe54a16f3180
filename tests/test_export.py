"""Exports and checkpoints anyone could have edited: every hostile one is refused with one line naming its file
before a network is built from it, and a diverged (NaN) generator is never exported or sampled."""

import json
import math

import pytest
import torch
from safetensors.torch import save_file

from gankit import model_folder, nets
from gankit.cli import main
from gankit.export import meta_from_state

Z = 4


def tiny_state(z_dim: int = Z) -> dict:
    """A checkpoint-like state of a tiny 8x8 generator, as the trainer records it."""
    G = nets.build("dcgan-g", z_dim=z_dim, img_resolution=8, img_channels=1, width=4)
    return {"gankit_version": "test", "config": {"recipe": "dcgan", "data": "folder:x", "z_dim": z_dim},
            "step": 1, "nimg": 16, "nets": {"G": G.state_dict()}, "net_configs": {"G": G.config},
            "data_info": {"kind": "image", "shape": [1, 8, 8], "class_names": []}, "G_ema": None}


@pytest.fixture
def export(tmp_path):
    """A good export of a tiny generator, written as `gankit export` writes it."""
    state = tiny_state()
    G = nets.from_config(state["net_configs"]["G"])
    G.load_state_dict(state["nets"]["G"])
    return model_folder.save(G, tmp_path / "ex", "generator", meta_from_state(state))


def rewrite(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def set_network(key, value):
    return lambda folder: rewrite(folder, lambda c: c["network"].update({key: value}))


def set_meta(key, value):
    return lambda folder: rewrite(folder, lambda c: c.update({key: value}))


def write_config(text: bytes):
    return lambda folder: (folder / "config.json").write_bytes(text)


def weights_of(state: dict, rehash: bool = True):
    """Replace the weights by ``state`` (and, as a careful forger would, their hash in config.json)."""
    def edit(folder):
        save_file(state, str(folder / "generator.safetensors"))
        if rehash:
            rewrite(folder, lambda c: c.update(sha256=model_folder.sha256(folder / "generator.safetensors")))
    return edit


def nan_weights():
    sd = {k: v.clone() for k, v in nets.build("dcgan-g", z_dim=Z, img_resolution=8, img_channels=1,
                                              width=4).state_dict().items()}
    sd["project.0.weight"][0, 0] = math.nan
    return sd


def other_weights():
    return nets.build("dcgan-g", z_dim=Z, img_resolution=8, img_channels=1, width=8).state_dict()


HOSTILE = {
    "not json": (write_config(b"{not json"), "config.json: not a valid gankit export config"),
    "not utf-8": (write_config(b"\xff\xfe\x00garbage"), "config.json: not a valid gankit export config"),
    "a list": (write_config(b"[1, 2]"), "a JSON object expected"),
    "nested beyond reason": (write_config(b"[" * 100000 + b"]" * 100000), "config.json: not a valid"),
    "no network": (lambda f: rewrite(f, lambda c: c.pop("network")), "no 'network' object"),
    "no sha256": (lambda f: rewrite(f, lambda c: c.pop("sha256")), "no 'sha256'"),
    "z_dim 1e12": (set_network("z_dim", 1e12), "network.z_dim 1000000000000.0: expected a whole number"),
    "z_dim huge int": (set_network("z_dim", 10**12), "network.z_dim 1000000000000: must be in [1, 65536]"),
    "z_dim -5": (set_network("z_dim", -5), "network.z_dim -5: must be in [1, 65536]"),
    "z_dim NaN": (set_network("z_dim", math.nan), "network.z_dim nan: expected a whole number"),
    "width true": (set_network("width", True), "network.width True: expected a whole number"),
    "width 1e9 (petabytes)": (set_network("width", 10**9), "width 1000000000, max_width 1024, c_dim 0 would take about"),
    "width nested garbage": (set_network("width", {"a": [1, {"b": None}]}), "network.width {'a'"),
    "unknown arch": (set_network("arch", "nope"), "network.arch 'nope': unknown network"),
    "unknown argument": (set_network("evil", 1), "network.'evil': network 'dcgan-g' takes no such argument"),
    "norm of another type": (set_network("norm", 5), "network.norm 5: expected a short word"),
    "norm unknown": (set_network("norm", "bogus"), "network cannot be built ("),
    "resolution 2": (set_network("img_resolution", 2), "network cannot be built (DCGAN needs a resolution of at least 4"),
    "not safetensors": (lambda f: ((f / "generator.safetensors").write_bytes(b"junk"), rewrite(
        f, lambda c: c.update(sha256=model_folder.sha256(f / "generator.safetensors")))), "generator.safetensors: not a safetensors file"),
    "shape 1e6": (set_meta("shape", [1, 10**6, 10**6]), "shape [1, 1000000, 1000000] does not match what the network makes ([1, 8, 8])"),
    "shape of 4 items": (set_meta("shape", [1, 1, 8, 8]), "shape [1, 1, 8, 8] is not 1 to 3 whole numbers"),
    "shape a word": (set_meta("shape", "8x8"), "shape '8x8' is not 1 to 3"),
    "z_dim of the record": (set_meta("z_dim", 7), "z_dim 7 does not match the network's (4)"),
    "kind": (set_meta("kind", "video"), "kind 'video' is neither"),
    "class names": (set_meta("class_names", 5), "class_names 5 is not a list"),
    "kimg NaN": (set_meta("kimg", math.nan), "kimg nan is not a number of at least 0"),
    "data option out of range": (set_meta("data_options", {"data.canvas": -2}), "data_options data.canvas -2: must be in [-1, 8192]"),
    "mask a word": (set_meta("mask", "yes"), "mask 'yes' is not true"),
    "mask the network does not make": (set_meta("mask", True), "shape [1, 8, 8] does not match what the network makes ([0, 8, 8])"),
    "weights missing": (lambda f: (f / "generator.safetensors").unlink(), "missing generator.safetensors"),
    "hash mismatch": (weights_of(other_weights(), rehash=False), "generator.safetensors: sha256 does not match"),
    "weights of another shape": (weights_of(other_weights()), "cannot load weights into the network"),
    "non-finite weights": (weights_of(nan_weights()), "generator.safetensors: project.0.weight holds NaN or inf"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_export_is_one_line_naming_its_file(export, name, tmp_path, capsys, monkeypatch):
    from gankit import memory

    monkeypatch.setattr(memory, "physical_memory", lambda: 16 << 30)  # the same verdicts on any machine
    damage, named = HOSTILE[name]
    damage(export)
    assert main(["sample", "--export", str(export), "-n", "4", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gankit sample: error:"), err
    assert str(export) in err[0] and named in err[0], err[0]
    assert not (tmp_path / "x.png").exists()


def test_the_untouched_export_samples(export, tmp_path):
    assert main(["sample", "--export", str(export), "-n", "4", "--out", str(tmp_path / "x.png")]) == 0


def test_the_size_estimate_builds_nothing_and_matches_the_real_network():
    from gankit.nets.registry import config_bytes

    G = nets.build("dcgan-g", z_dim=Z, img_resolution=8, img_channels=1, width=4)
    real = sum(t.numel() * t.element_size() for t in [*G.parameters(), *G.buffers()])
    assert config_bytes(G.config) == real
    assert config_bytes({**G.config, "width": 10**9}) > 10**11  # weighed on the meta device: nothing allocated


def test_an_unknown_amount_of_memory_falls_back(monkeypatch):
    import os

    from gankit import memory

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert memory.physical_memory() == memory.FALLBACK
    assert memory.too_big(1 << 30) is None and "more than this machine's" in memory.too_big(memory.FALLBACK + 1)


def checkpoint(tmp_path, state):
    path = tmp_path / "ckpt-00000001.pt"
    torch.save(state, path)
    return path


@pytest.mark.parametrize("edit,named", [
    (lambda s: s["net_configs"]["G"].update(z_dim=-5), "net_configs.G.z_dim -5: must be in [1, 65536]"),
    (lambda s: s["net_configs"]["G"].update(width=10**9), "net_configs.G: a dcgan-g of"),
    (lambda s: s["config"].update(batch=0), "config batch 0: must be in [1, 1048576]"),
    (lambda s: s["data_info"].update(shape=[1, 10**6, 10**6]), "shape [1, 1000000, 1000000] does not match"),
    (lambda s: s["nets"]["G"]["project.0.weight"].fill_(math.inf), "the generator's project.0.weight holds NaN or inf"),
])
def test_a_hostile_checkpoint_is_refused_before_building_by_sample_and_export(tmp_path, capsys, edit, named):
    state = tiny_state()
    edit(state)
    path = checkpoint(tmp_path, state)
    for argv in (["sample", "--checkpoint", str(path), "-n", "4", "--out", str(tmp_path / "x.png")],
                 ["export", "--checkpoint", str(path), "--out", str(tmp_path / "ex")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"checkpoint {path}: " in err[0] and named in err[0], err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "ex").exists()


def test_saving_nan_weights_is_refused(tmp_path):
    G = nets.build("dcgan-g", z_dim=Z, img_resolution=8, img_channels=1, width=4)
    with torch.no_grad():
        G.project[0].weight[0, 0] = math.nan
    with pytest.raises(model_folder.ModelFolderError, match="project.0.weight holds NaN or inf"):
        model_folder.save(G, tmp_path / "ex", "generator", {})
    assert not (tmp_path / "ex").exists()
