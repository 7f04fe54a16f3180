"""gankit eval and the feature networks: real features cached, results as JSON beside the model, sane orderings."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit.classify import load_classifier, save_classifier, train_classifier
from gankit.cli import main
from gankit.data import ImageData
from gankit.data.fashion_mnist import load_fashion_mnist
from gankit.metrics import evaluate as ev
from gankit.metrics.features import FeatureError, get_extractor
from gankit.model_folder import ModelFolderError
from tests.helpers import FAST


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A classifier trained for one short epoch on 2,000 bundled test images: enough to give a feature space."""
    data = load_fashion_mnist("test")
    train = ImageData(data.images[:2000], data.labels[:2000], data.class_names, "fm-2000")
    model, _ = train_classifier(train, None, epochs=1, batch=100, width=8, log=lambda s: None)
    return save_classifier(model, tmp_path_factory.mktemp("clf") / "tiny", {"test_accuracy": None})


def test_classifier_folder_round_trip_and_tamper_check(tiny_classifier, tmp_path):
    model, config = load_classifier(tiny_classifier)
    assert config["network"]["feature_dim"] == 128
    x = torch.zeros(2, 1, 28, 28)
    assert model.features(x).shape == (2, 128)
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_classifier, copy)
    weights = copy / "classifier.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelFolderError, match="sha256"):
        load_classifier(copy)


def test_real_features_are_cached_atomically(tiny_classifier, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    extractor = get_extractor(f"classifier:{tiny_classifier}")
    data = load_fashion_mnist("test")
    first = ev.real_features(data, extractor, 500)
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 1 and first.shape == (500, 128)
    calls = []
    monkeypatch.setattr(extractor, "fn", lambda x: calls.append(1) or torch.zeros(len(x), 128))
    again = ev.real_features(data, extractor, 500)
    assert not calls and torch.equal(first, again)
    ev.real_features(data, extractor, 400)  # other images -> another key
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2


def test_cached_real_features_of_other_weights_are_never_reused(tiny_classifier, tmp_path, monkeypatch):
    """Weights replaced in place (as a retrained shipped extractor is) change the key: no stale features."""
    import shutil

    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    folder = shutil.copytree(tiny_classifier, tmp_path / "space")
    data = load_fashion_mnist("test")
    before = ev.real_features(data, get_extractor(f"classifier:{folder}"), 300)
    model, config = load_classifier(folder)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    save_classifier(model, folder, {k: v for k, v in config.items() if k not in ("network", "sha256")})
    after = get_extractor(f"classifier:{folder}")
    calls = []
    real_fn = after.fn
    monkeypatch.setattr(after, "fn", lambda x: calls.append(1) or real_fn(x))
    again = ev.real_features(data, after, 300)
    assert calls and not torch.allclose(before, again)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2


def test_real_and_generated_images_reach_the_extractor_alike(tiny_classifier):
    """A generated image is judged as saved (8-bit) and resized as real ones are: antialiased, one function."""
    from gankit.metrics.features import prepare

    extractor = get_extractor(f"classifier:{tiny_classifier}")
    stored = load_fashion_mnist("test").images[:8]
    real = stored.float() / 127.5 - 1
    off_grid = (torch.rand(real.shape, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.9 / 127.5
    generated = real + off_grid  # within half a level of the stored values
    assert torch.equal(extractor(generated.clamp(-1, 1)), extractor(real))
    beyond = torch.where(real.abs() == 1, real * 1.7, real)  # past the ends: clamped, as when saved
    assert not torch.equal(beyond, real) and torch.equal(extractor(beyond), extractor(real))
    big = F.interpolate(real, size=(56, 56), mode="bilinear", antialias=True, align_corners=False)
    big = ((big + 1) * 127.5).round() / 127.5 - 1  # a 56-px image as stored
    small = F.interpolate(big, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    assert torch.allclose(prepare(big, 1, 28), small, atol=1e-6)
    aliased = F.interpolate(big, size=(28, 28), mode="bilinear", align_corners=False)
    assert not torch.allclose(prepare(big, 1, 28), aliased, atol=1e-3)


def test_fd_orders_real_test_below_noise(tiny_classifier, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    extractor = get_extractor(f"classifier:{tiny_classifier}")
    data = load_fashion_mnist("test")
    a = extractor(data.images[2000:5000].float() / 127.5 - 1)
    b = extractor(data.images[5000:8000].float() / 127.5 - 1)
    noise = extractor(torch.rand(3000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    same = ev.image_metrics(a, b, ["fd"])["fd"]
    far = ev.image_metrics(a, noise, ["fd"])["fd"]
    assert same * 20 < far


def test_eval_command_writes_json_beside_the_run(tiny_classifier, tmp_path, small_images, capsys, monkeypatch):
    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    run = tmp_path / "run"
    assert main(["train", "--recipe", "dcgan", "--data", "fashion-mnist:test", "--steps", "2", "--batch", "16",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4", "ema.beta=0.5"]) == 0
    code = main(["eval", "--run", str(run), "--n", "300", "--features", f"classifier:{tiny_classifier}"])
    assert code == 0
    out, err = capsys.readouterr()
    assert "gankit eval: warning: FD from 300 samples is biased upward" in err
    for key in ("fd", "kid", "precision", "recall", "density", "coverage", "protocol"):
        assert key in out
    history = json.loads((run / "eval.json").read_text())
    assert history[-1]["data"] == "fashion-mnist:test" and history[-1]["n"] == 300
    digest = load_classifier(tiny_classifier)[1]["sha256"][:16]
    assert history[-1]["features_sha256"] == digest and f"weights sha256 {digest}" in history[-1]["protocol"]
    assert f"classifier:{tiny_classifier} space: not calibrated" in out
    assert np.isfinite(history[-1]["metrics"]["fd"]) and history[-1]["metrics"]["fd"] > 0
    assert history[-1]["net"] == "ema" and "network: the moving average of G at step 2" in out
    assert main(["eval", "--run", str(run), "--n", "300", "--net", "G", "--metrics", "fd",
                 "--features", f"classifier:{tiny_classifier}"]) == 0
    history = json.loads((run / "eval.json").read_text())
    assert history[-1]["net"] == "G" and history[-1]["metrics"]["fd"] != history[-2]["metrics"]["fd"]


def test_eval_modes_on_points(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--recipe", "nsgan", "--data", "ring8", "--steps", "2", "--out", str(run),
                 "--no-progress", "--set", *FAST]) == 0
    assert main(["eval", "--run", str(run), "--n", "2500"]) == 0
    result = json.loads((run / "eval.json").read_text())[-1]
    assert result["metrics"]["num_modes"] == 8 and "3 std" in result["protocol"]
    for metric in ("fd", "cas"):
        assert main(["eval", "--run", str(run), "--metrics", metric]) == 2
        err = capsys.readouterr().err
        assert "not defined for 2-D data" in err and len(err.strip().splitlines()) == 1


def test_eval_counts_the_1000_modes_of_a_stacked_model_and_refuses_them_elsewhere(tmp_path, capsys):
    run = tmp_path / "stacked"
    assert main(["train", "--recipe", "dcgan", "--data", "stacked-fmnist:test", "--steps", "2", "--batch", "16",
                 "--out", str(run), "--no-progress", "--set", *FAST, "G.width=4", "D.width=4"]) == 0
    assert main(["eval", "--run", str(run), "--n", "300"]) == 0  # modes is the default on stacked data
    result = json.loads((run / "eval.json").read_text())[-1]
    assert result["metrics"]["num_modes"] == 1000 and 1 <= result["metrics"]["modes"] <= 300
    assert "93.4% right" in result["protocol"] and result["data"] == "stacked-fmnist:test"
    with pytest.raises(ValueError, match="--metrics modes: counts the 1000 modes of stacked-fmnist"):
        ev.check_request(load_fashion_mnist("test"), ["modes"], "fmnist", 0, "cpu", n=100)


def test_missing_inception_weights_say_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_INCEPTION", str(tmp_path / "absent.pth"))
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *a, **k: str(tmp_path / "cache"))
    with pytest.raises(FeatureError, match="weights-inception-2015-12-05-6726825d.pth") as e:
        get_extractor("inception")
    assert "GANKIT_INCEPTION" in str(e.value) and "fmnist" in str(e.value)


def test_unknown_features_name_the_value():
    with pytest.raises(FeatureError, match="sift"):
        get_extractor("sift")


@pytest.mark.parametrize("old", ["[{\"metrics\": {\"fd\": 1.0}}", "{}", "\xff\xfe"])
def test_results_are_never_lost_to_an_unreadable_eval_json(tmp_path, old):
    path = tmp_path / "eval.json"
    path.write_bytes(old.encode("latin-1"))
    with pytest.warns(UserWarning, match="eval.json: not a list of evaluations; moved to .*eval.json.unreadable"):
        ev.append_results(path, {"metrics": {"fd": 2.0}})
    assert json.loads(path.read_text()) == [{"metrics": {"fd": 2.0}}]
    assert (tmp_path / "eval.json.unreadable").read_bytes() == old.encode("latin-1")  # kept as it was
    ev.append_results(path, {"metrics": {"fd": 3.0}})  # a good file is appended to
    assert [e["metrics"]["fd"] for e in json.loads(path.read_text())] == [2.0, 3.0]
    path.write_text("{")  # broken again: the first unreadable file is not replaced
    with pytest.warns(UserWarning, match="eval.json.unreadable2"):
        ev.append_results(path, {"metrics": {"fd": 4.0}})
    assert (tmp_path / "eval.json.unreadable").read_bytes() == old.encode("latin-1")
    assert (tmp_path / "eval.json.unreadable2").read_text() == "{"


def images(n: int) -> ImageData:
    data = load_fashion_mnist("test")
    return ImageData(data.images[:n], data.labels[:n], data.class_names, f"{n} test images")


@pytest.mark.parametrize("metric", ["pr", "dc"])
def test_too_few_samples_for_the_neighbourhoods_are_refused_before_sampling(metric):
    with pytest.raises(ValueError, match=r"more than 5 real and generated samples; --n 100 against 5 real images"):
        ev.check_request(images(5), [metric], None, 0, n=100)
    with pytest.raises(ValueError, match=r"--n 5 against 50 real"):
        ev.check_request(images(50), [metric], None, 0, n=5)
    assert ev.check_request(images(6), [metric], None, 0, n=6)[:2] == ([metric], "fmnist")


def test_class_scores_need_features_with_a_class_head(monkeypatch):
    headless = ev.get_extractor("fmnist")
    headless = type(headless)(**{**headless.__dict__, "logits": None})
    with pytest.raises(ValueError, match="--metrics is,cacc: need features with a class head"):
        ev.check_request(images(20), ["is", "cacc"], "fmnist", 10, n=20, extractor=headless)


def test_cas_needs_labelled_training_data():
    with pytest.raises(ValueError, match="--metrics cas: needs labelled real training and test data"):
        ev.check_request(images(20), ["cas"], None, 10, n=20)


def test_the_real_subset_is_random_over_the_classes_and_the_same_every_time():
    labels = torch.arange(10).repeat_interleave(100)  # a folder: stored class by class
    by_class = ImageData(labels.view(-1, 1, 1, 1).expand(-1, 1, 4, 4).to(torch.uint8).clone(), labels,
                         [str(i) for i in range(10)], "sorted")
    subset = ev.real_subset(by_class, 100)
    assert torch.equal(subset, ev.real_subset(by_class, 100))
    assert len(subset[:, 0, 0, 0].unique()) == 10  # the first 100 would all be class 0
    assert ev.real_subset(by_class, None) is by_class.images and ev.real_subset(by_class, 5000) is by_class.images


def test_cacc_needs_a_classifier_of_the_generators_classes():
    with pytest.raises(ValueError, match="--metrics cacc: the generator draws 2 classes, but --features fmnist "
                                         "tells 10 apart"):
        ev.check_request(images(20), ["cacc"], "fmnist", 2, n=20)
    assert ev.check_request(images(20), ["cacc"], "fmnist", 10, n=20)[0] == ["cacc"]


def test_calibrate_prints_the_table_and_eval_then_states_floor_and_ceiling(tiny_classifier, tmp_path, capsys,
                                                                           monkeypatch):
    import shutil

    monkeypatch.setattr(ev, "CACHE_DIR", tmp_path / "cache")
    folder = shutil.copytree(tiny_classifier, tmp_path / "space")
    name = f"classifier:{folder}"
    assert main(["features", "calibrate", name, "--n", "300", "--data", "fashion-mnist:test", "--record"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.endswith("%")]
    assert [r.split("  ")[0] for r in rows] == [
        "real training images (floor)", "mirrored", "brightness +0.1", "contrast x0.9 (about mid-grey)",
        "resized 28->64->28", "blur sigma 0.5", "uniform noise (ceiling)"]
    assert rows[-1].endswith("100.0%") and f"recorded in {folder / 'config.json'}" in out
    config = json.loads((folder / "config.json").read_text())
    recorded = config["calibration"]
    assert recorded["sha256"] == config["sha256"] and recorded["n"] == 300 and len(recorded["rows"]) == 7
    assert 0 < recorded["floor"] < recorded["ceiling"] and recorded["rows"][-1]["share"] == 1.0
    load_classifier(folder)  # the weights' check still passes
    scale = get_extractor(name).scale()
    assert scale == (f"{name} space: floor {recorded['floor']:.3g} (real vs test), "
                     f"ceiling {recorded['ceiling']:.4g} (noise), 300 images each")
    recorded["sha256"] = "0" * 64  # measured on other weights: not shown as this space's scale
    (folder / "config.json").write_text(json.dumps(config))
    assert "not calibrated" in get_extractor(name).scale()
    assert main(["features", "calibrate", "inception", "--record"]) == 2
    assert "--record: inception has no classifier folder to record in" in capsys.readouterr().err
