"""Labelled images from a generator: quotas, labels, the labeller's filter, and requests that cannot be met."""

import warnings

import pytest
import torch

from gankit.synthetic import SyntheticError
from gankit.synthetic.labelled import quotas, synthesize
from tests.synthetic.fakes import NAMES, FakeG, class_of, labeller


def test_quotas_split_evenly_or_per_class():
    assert quotas(10, None, 4) == [3, 3, 2, 2]
    assert quotas(None, 5, 3) == [5, 5, 5]


def test_a_conditional_generator_labels_each_image_with_the_class_asked_for():
    data = synthesize(FakeG(c_dim=4), 3, n=10, class_names=NAMES, seed=1, batch=4)
    assert data.counts() == [3, 3, 2, 2] and data.drawn == 10 and data.short() == {}
    assert torch.equal(class_of(data.images), data.labels)  # every image is of its label's class
    assert data.confidence is None and data.labels.tolist() == sorted(data.labels.tolist())
    again = synthesize(FakeG(c_dim=4), 3, n=10, class_names=NAMES, seed=1, batch=4)
    assert torch.equal(again.latents, data.latents) and torch.equal(again.images, data.images)
    other = synthesize(FakeG(c_dim=4), 3, n=10, class_names=NAMES, seed=2, batch=4)
    assert not torch.equal(other.latents, data.latents)
    # an image is the one its latent row makes
    assert torch.equal(data.images[:, 0, 0, 0], FakeG()(data.latents)[:, 0, 0, 0].add(1).mul(127.5).round().byte())


def test_the_labeller_drops_images_it_disagrees_with_and_short_classes_are_reported():
    judge = labeller(wrong={2: 1}, wrong_when_dark=True)  # disagrees that a "two" is a two about half the time
    data = synthesize(FakeG(c_dim=4), 3, per_class=8, class_names=NAMES, labeller=judge, batch=8, max_tries=1)
    kept = data.counts()[2]
    assert 0 < kept < 8 and data.counts() == [8, 8, kept, 8]
    assert data.short() == {"two": (kept, 8)}
    assert torch.equal(class_of(data.images), data.labels)
    assert data.drawn == 4 * 8  # one batch each: the budget of 1 x 8 is spent


def test_a_class_the_labeller_never_accepts_is_left_empty_and_reported():
    judge = labeller(wrong={2: 1})  # never agrees that a "two" is a two: 8 + 7 draws (its budget, 3 x 5), the
    # other classes one batch of 8 each
    data = synthesize(FakeG(c_dim=4), 3, per_class=5, class_names=NAMES, labeller=judge, batch=8, max_tries=3)
    assert data.counts() == [5, 5, 0, 5] and data.short() == {"two": (0, 5)} and data.drawn == 39
    assert torch.equal(class_of(data.images), data.labels)


def test_an_unconditional_generator_takes_the_labellers_classes_above_the_confidence_asked():
    judge = labeller(confidence={0: 0.95, 1: 0.6, 2: 0.95, 3: 0.95})
    data = synthesize(FakeG(), 3, per_class=6, labeller=judge, min_confidence=0.6, batch=16, max_tries=5, seed=0)
    assert data.class_names == NAMES and data.counts() == [6, 6, 6, 6] and data.short() == {}
    assert torch.equal(class_of(data.images), data.labels)
    assert data.confidence[data.labels == 1].allclose(torch.tensor(0.6)) and (data.confidence >= 0.6).all()
    strict = synthesize(FakeG(), 3, per_class=6, labeller=judge, min_confidence=0.8, batch=16, max_tries=5)
    assert strict.counts() == [6, 0, 6, 6] and strict.drawn == 5 * 24  # "one" is never 0.8 sure: 5 x the 24 asked


@pytest.mark.parametrize("kwargs, message", [
    ({"per_class": 3}, "--per-class 3: this generator is not class-conditional"),
    ({"n": 3, "min_confidence": 0.5}, "--min-confidence 0.5: needs --label-with"),
    ({}, "give -n N or --per-class N"),
])
def test_requests_an_unconditional_generator_cannot_meet(kwargs, message):
    with pytest.raises(SyntheticError, match=message):
        synthesize(FakeG(), 3, **kwargs)


def test_min_confidence_without_a_labeller_is_refused_for_a_conditional_generator_too():
    with pytest.raises(SyntheticError, match="--min-confidence 0.9: needs --label-with"):
        synthesize(FakeG(c_dim=4), 3, n=4, class_names=NAMES, min_confidence=0.9)


def test_a_labeller_of_other_classes_is_refused_for_a_conditional_generator():
    with pytest.raises(SyntheticError, match="--label-with fake: its classes .* are not the generator's"):
        synthesize(FakeG(c_dim=4), 3, n=4, class_names=NAMES, labeller=labeller(names=["a", "b", "c", "d"]))


def test_no_image_kept_is_an_error_not_an_empty_dataset():
    judge = labeller(confidence={c: 0.3 for c in range(4)})
    with pytest.raises(SyntheticError, match="no image kept of 64 drawn"):
        synthesize(FakeG(), 3, n=16, labeller=judge, min_confidence=0.9, batch=16, max_tries=4)


def test_a_labeller_refuses_a_generator_of_other_channels():
    with pytest.raises(SyntheticError, match=r"^--label-with fake: the classifier judges 1-channel 4x4 images; this "
                                             r"model makes 3-channel 4x4 images of faces, on which its answers would "
                                             r"mean nothing"):
        synthesize(FakeG(channels=3), 3, n=8, labeller=labeller(), data="faces")


def test_a_labeller_warns_once_on_images_of_another_size_or_data():
    with pytest.warns(UserWarning) as caught:
        data = synthesize(FakeG(size=8), 3, n=16, labeller=labeller(trained_on="fashion-mnist"), batch=4,
                          data="folder:cells")
    assert len(data) == 16
    assert [str(w.message) for w in caught] == [
        "--label-with fake: the classifier was trained on 1-channel 4x4 images of fashion-mnist; this model makes "
        "1-channel 8x8 images of folder:cells, on which its answers may mean little"]
    with pytest.warns(UserWarning, match="4x4 images of fashion-mnist; this model makes 1-channel 4x4 images of "
                                         "folder:cells"):
        synthesize(FakeG(), 3, n=4, labeller=labeller(trained_on="fashion-mnist"), data="folder:cells")


def test_a_labeller_of_the_models_own_data_and_size_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthesize(FakeG(), 3, n=8, labeller=labeller(trained_on="fashion-mnist"), data="fashion-mnist:test")
