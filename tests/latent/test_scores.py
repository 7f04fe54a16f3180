"""Scorers: classes by index or name, the shipped Fashion-MNIST classifier, user functions, and their errors."""

import warnings

import pytest
import torch

from gankit.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from gankit.classify import to_float
from gankit.latent import LatentError
from gankit.latent.scores import class_index, get_scorer


@pytest.mark.parametrize("token, index", [("1", 1), ("Trouser", 1), ("trouser", 1), ("tshirt", 0), ("T-shirt/top", 0),
                                          ("ankle-boot", 9), ("ankle boot", 9), ("bag", 8), ("9", 9)])
def test_classes_by_index_or_forgiving_name(token, index):
    assert class_index(token, CLASS_NAMES, "--score x") == index


@pytest.mark.parametrize("token", ["10", "s", "hat", ""])
def test_unknown_or_ambiguous_classes_list_the_names(token):
    with pytest.raises(LatentError, match="--class x: unknown class .*Ankle boot"):
        class_index(token, CLASS_NAMES, "--class x")


def test_fmnist_scorer_gives_real_trousers_a_high_probability():
    data = load_fashion_mnist("test")
    trousers, others = (data.labels == 1).nonzero()[:50, 0], (data.labels != 1).nonzero()[:50, 0]
    scorer = get_scorer("fmnist:Trouser")
    assert scorer.label == "fmnist P(Trouser)"
    s_t, s_o = scorer(to_float(data.images[trousers]), batch=16), scorer(to_float(data.images[others]))
    assert s_t.shape == (50,) and s_t.dtype == torch.float64
    assert s_t.mean() > 0.9 and s_o.mean() < 0.1
    assert ((0 <= s_o) & (s_o <= 1)).all()


def test_user_function_from_a_file(tmp_path):
    (tmp_path / "my_scores.py").write_text(
        "def brightness(x):\n    return x.mean(dim=(1, 2, 3))\n"
        "def wrong_shape(x):\n    return x[:, 0]\n"
        "def nan(x):\n    return x.mean(dim=(1, 2, 3)) * float('nan')\n")
    x = torch.linspace(-1, 1, 6).view(6, 1, 1, 1).expand(6, 1, 4, 4)
    s = get_scorer(f"{tmp_path / 'my_scores.py'}:brightness")(x, batch=4)
    assert torch.allclose(s, torch.linspace(-1, 1, 6, dtype=torch.float64), atol=1e-6)
    with pytest.raises(LatentError, match=r"wrong_shape: returned shape \[6, 4, 4\] for 6 images"):
        get_scorer(f"{tmp_path / 'my_scores.py'}:wrong_shape")(x)
    with pytest.raises(LatentError, match="NaN"):
        get_scorer(f"{tmp_path / 'my_scores.py'}:nan")(x)
    with pytest.raises(LatentError, match="has no function 'missing'"):
        get_scorer(f"{tmp_path / 'my_scores.py'}:missing")
    with pytest.raises(LatentError, match="no such file"):
        get_scorer(f"{tmp_path / 'nope.py'}:f")


def test_module_function_and_bad_specs():
    scorer = get_scorer("torch:numel")
    assert scorer.label == "torch:numel"
    for spec, message in [("fmnist", "name a class"), ("fmnist:hat", "unknown class 'hat'"),
                          ("nothing", "expected fmnist:CLASS"), ("no_such_module_xyz:f", "cannot import"),
                          ("classifier:/nonexistent:1", "--score classifier:/nonexistent:1: "),
                          ("classifier:1", "expected classifier:PATH:CLASS")]:
        with pytest.raises(LatentError, match=message):
            get_scorer(spec)


def test_errors_in_the_users_code_are_reported_as_theirs(tmp_path):
    (tmp_path / "broken.py").write_text("def f(x:\n")
    with pytest.raises(LatentError, match=r"--score .*broken\.py:f: importing .*broken\.py raised SyntaxError"):
        get_scorer(f"{tmp_path / 'broken.py'}:f")
    (tmp_path / "raises.py").write_text("def boom(x):\n    raise RuntimeError('no GPU here')\n")
    scorer = get_scorer(f"{tmp_path / 'raises.py'}:boom")
    with pytest.raises(LatentError, match=r"raises\.py:boom: the function raised RuntimeError: no GPU here"):
        scorer(torch.zeros(2, 1, 28, 28))


def test_a_classifier_score_refuses_a_model_of_other_channels():
    """Faces are not clothing: the fmnist classifier would give them probabilities all the same."""
    scorer = get_scorer("fmnist:Bag")
    with pytest.raises(LatentError, match=r"^--score fmnist:Bag: the classifier judges 1-channel 28x28 images of "
                                          r"fashion-mnist; this model makes 3-channel 64x64 images of folder:faces, "
                                          r"on which its answers would mean nothing"):
        scorer.check((3, 64, 64), "folder:faces")
    with pytest.raises(LatentError, match="3-channel 28x28 images, on which"):  # whoever calls it with such images
        scorer(torch.zeros(2, 3, 28, 28))


def test_a_classifier_score_warns_on_another_size_or_data_and_not_on_its_own():
    scorer = get_scorer("fmnist:Bag")
    with pytest.warns(UserWarning, match=r"^--score fmnist:Bag: the classifier was trained on 1-channel 28x28 images "
                                         r"of fashion-mnist; this model makes 1-channel 64x64 images of folder:cells, "
                                         r"on which its answers may mean little$"):
        scorer.check((1, 64, 64), "folder:cells")
    with pytest.warns(UserWarning, match="1-channel 28x28 images of folder:cells, on which"):
        scorer.check((1, 28, 28), "folder:cells")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer.check((1, 28, 28), "fashion-mnist:test")
        get_scorer("torch:numel").check((3, 64, 64), "folder:faces")  # a function of the user's: any images
