"""SeFa, GANSpace-style PCA, per-coordinate and taught directions, on tiny networks built here."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from gankit.latent.directions import load_direction
from gankit.nets.autoencoder import ConvAutoencoder, MLPAutoencoder
from gankit.nets.dcgan import DCGANGenerator
from gankit.nets.mlp import MLPGenerator
from gankit.nets.resnet import ResNetGenerator
from gankit.studio import steering
from gankit.studio.steering import SteeringError


def tiny_dcgan(z_dim=8, c_dim=0, seed=0):
    torch.manual_seed(seed)
    return DCGANGenerator(z_dim=z_dim, img_resolution=8, img_channels=1, width=4, c_dim=c_dim).eval()


class TransposedFirst(nn.Module):
    """z as a [N, z_dim, 1, 1] map into a transposed convolution, PGGAN's way of starting."""

    def __init__(self, z_dim=3):
        super().__init__()
        self.z_dim = z_dim
        self.up = nn.ConvTranspose2d(z_dim, 2, 4)
        self.act = nn.ReLU()

    def forward(self, z):
        return self.act(self.up(z.view(len(z), -1, 1, 1)))


class NoZLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.z_dim, self.scale = 3, nn.Parameter(torch.ones(3))

    def forward(self, z):
        return torch.tanh(z * self.scale)


@pytest.mark.parametrize("make, layer, then", [
    (lambda: tiny_dcgan(), "project.0", "project_norm.1"),
    (lambda: tiny_dcgan(c_dim=3), "project.0", "project_norm.1"),
    (lambda: MLPGenerator(z_dim=5, hidden=(16, 16)), "net.0", "net.1"),
    (lambda: ResNetGenerator(z_dim=6, img_resolution=32, img_channels=1, width=2), "project", "blocks.0.bn1"),
    (lambda: ConvAutoencoder(z_dim=4, img_resolution=8, img_channels=1, width=4), "decoder.project.0",
     "decoder.project_norm.1"),
    (lambda: MLPAutoencoder(z_dim=3, hidden=()), "decoder.0", None),
    (lambda: TransposedFirst(), "up", "act"),
])
def test_the_z_layer_is_found_in_every_kind_of_generator(make, layer, then):
    G = make().eval()
    found = steering.find_z_layer(G, G.z_dim, getattr(G, "c_dim", 0))
    assert (found.name, found.then) == (layer, then)


def test_a_generator_without_a_layer_on_z_is_refused_by_name_and_skipped_by_unsupervised():
    G = NoZLayer()
    with pytest.raises(SteeringError, match="no Linear or ConvTranspose2d"):
        steering.sefa(G, 3)
    assert [d.name for d in steering.unsupervised(G, 3)] == ["z0", "z1", "z2"]


def test_sefa_takes_the_z_columns_of_the_first_layer_with_each_output_unit_normalised():
    G = tiny_dcgan(z_dim=3, c_dim=2)
    W = torch.zeros_like(G.project[0].weight)  # [out, 5]: 3/4 of the units read z_0, the rest z_2, none z_1
    out = len(W)
    W[:out * 3 // 4, 0] = torch.linspace(1, 5, out * 3 // 4)
    W[out * 3 // 4:, 2] = -7.0  # fewer units, though larger: after normalisation, they count for less
    W[:, 3:] = 100.0  # the class columns do not move with z and must not count
    with torch.no_grad():
        G.project[0].weight.copy_(W)
    found = steering.sefa(G, 3, num_classes=2, k=3)
    assert len(found) == 2  # the third eigenvalue is 0: a direction that moves nothing is left out
    (v0, s0), (v1, s1) = found
    assert torch.allclose(v0, torch.tensor([1.0, 0, 0])) and torch.allclose(v1, torch.tensor([0, 0, 1.0]))
    assert s0 == pytest.approx(0.75) and s1 == pytest.approx(0.25)  # shares of unit rows, not of raw scale


def test_sefa_reads_a_transposed_convolution_on_z():
    G = TransposedFirst(3)
    with torch.no_grad():
        G.up.weight.zero_()
        G.up.weight[1] = 1.0  # only z_1 reaches the outputs
    (v, share), = steering.sefa(G, 3, k=3)
    assert torch.allclose(v, torch.tensor([0, 1.0, 0])) and share == pytest.approx(1.0)


def test_sefa_directions_are_unit_orthogonal_and_ordered():
    found = steering.sefa(tiny_dcgan(z_dim=8), 8, k=8)
    V = torch.stack([v for v, _ in found]).double()
    assert torch.allclose(V @ V.T, torch.eye(len(V), dtype=torch.float64), atol=1e-5)
    shares = [s for _, s in found]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0)


def test_pca_on_a_linear_first_layer_regresses_back_to_its_right_singular_vectors():
    """On the z layer's own (linear) output, GANSpace's PCA + least squares back to z must give the right singular
    vectors of its weight, ordered by singular value, with shares sigma^2 / sum sigma^2."""
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=4, hidden=(12,))
    U, _ = torch.linalg.qr(torch.randn(12, 4))
    V, _ = torch.linalg.qr(torch.randn(4, 4))
    sigma = torch.tensor([6.0, 3.0, 1.5, 0.5])
    with torch.no_grad():
        G.net[0].weight.copy_(U @ torch.diag(sigma) @ V.T)
    found = steering.pca(G.eval(), 4, k=3, n=4000, layer="linear")
    for i, (v, share) in enumerate(found):
        assert abs(float(v @ V[:, i])) > 0.99
        assert share == pytest.approx(float(sigma[i] ** 2 / (sigma ** 2).sum()), rel=0.1)


def test_pca_of_a_conditional_generator_ignores_what_the_class_alone_moves():
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=4, hidden=(12,), c_dim=3)
    U, _ = torch.linalg.qr(torch.randn(12, 4))
    V, _ = torch.linalg.qr(torch.randn(4, 4))
    with torch.no_grad():
        G.net[0].weight[:, :4] = U @ torch.diag(torch.tensor([4.0, 2.0, 1.0, 0.5])) @ V.T
        G.net[0].weight[:, 4:] = 30 * torch.randn(12, 3)  # classes move the output far more than z does
    found = steering.pca(G.eval(), 4, num_classes=3, k=2, n=3000, layer="linear")
    assert all(abs(float(v @ V[:, i])) > 0.99 for i, (v, _) in enumerate(found))


def test_pca_is_deterministic_per_seed_and_works_on_conditional_generators():
    G = tiny_dcgan(z_dim=8, c_dim=3)
    a, b = steering.pca(G, 8, 3, k=3, n=200, seed=5), steering.pca(G, 8, 3, k=3, n=200, seed=5)
    c = steering.pca(G, 8, 3, k=3, n=200, seed=6)
    assert all(torch.equal(x, y) and s == t for (x, s), (y, t) in zip(a, b))
    assert not torch.equal(a[0][0], c[0][0])
    for v, share in a:
        assert v.shape == (8,) and float(v.norm()) == pytest.approx(1.0, abs=1e-5) and 0 < share < 1


def test_early_activations_stop_early_and_take_the_first_call_of_a_shared_module():
    G = MLPGenerator(z_dim=5, hidden=(16, 7))  # one ReLU module serves both hidden layers
    x = steering.early_activations(G.eval(), torch.randn(10, 5), batch=4)
    assert x.shape == (10, 16) and (x >= 0).all()


@pytest.mark.parametrize("kwargs, match", [({"k": 0}, "k 0"), ({"k": 9}, "k 9"), ({"n": 3}, "n 3"),
                                           ({"layer": "deep"}, "layer 'deep'")])
def test_pca_refuses_bad_parameters_by_name(kwargs, match):
    with pytest.raises(SteeringError, match=match):
        steering.pca(tiny_dcgan(), 8, **{"k": 2, "n": 50, **kwargs})


def test_unsupervised_names_kinds_and_coordinates():
    small = steering.unsupervised(tiny_dcgan(z_dim=4), 4, k=2, n=50)
    assert [(d.name, d.kind) for d in small] == [("sefa-0", "sefa"), ("sefa-1", "sefa"), ("pca-0", "pca"),
                                                 ("pca-1", "pca"), ("z0", "coordinate"), ("z1", "coordinate"),
                                                 ("z2", "coordinate"), ("z3", "coordinate")]
    assert torch.equal(small[-1].vector, torch.tensor([0, 0, 0, 1.0]))
    big = steering.unsupervised(tiny_dcgan(z_dim=9), 9, k=2, n=50)
    assert not [d for d in big if d.kind == "coordinate"]
    # the studio knows these by kind and by name (to drop them at a reload, to compute them for a reloaded PNG)
    assert all(d.kind in steering.COMPUTED and steering.COMPUTED_NAME.match(d.name) for d in small + big)
    assert not steering.COMPUTED_NAME.match("bright") and not steering.COMPUTED_NAME.match("z12")


def clicked(z_dim=6, n=6, seed=0, margin=1.5):
    """Latents of images 'with' (z_2 > margin) and 'without' (z_2 < -margin) an attribute."""
    rng = np.random.default_rng(seed)
    pos, neg = rng.standard_normal((n, z_dim)), rng.standard_normal((n, z_dim))
    pos[:, 2], neg[:, 2] = margin + rng.random(n), -margin - rng.random(n)
    return pos, neg


def test_teach_points_towards_the_positives_with_leave_one_out_on_small_sets():
    pos, neg = clicked()
    t = steering.teach(pos.tolist(), neg.tolist(), z_dim=6)
    assert t.validation == "leave-one-out" and (t.n_positive, t.n_negative) == (6, 6)
    assert float(t.normal.norm()) == pytest.approx(1.0, abs=1e-6)
    assert float(t.normal[2]) > 0.8  # the attribute's axis, signed towards "has"
    assert t.val_accuracy == 1.0 and t.train_accuracy == 1.0
    flipped = steering.teach(neg, pos)
    assert float(flipped.normal[2]) < -0.8


def test_teach_uses_stratified_folds_on_larger_sets_and_reports_chance_on_noise():
    rng = np.random.default_rng(1)
    t = steering.teach(rng.standard_normal((15, 8)), rng.standard_normal((12, 8)))
    assert t.validation == "stratified 5-fold" and 0 <= t.val_accuracy < 0.9


@pytest.mark.parametrize("pos, neg, match", [
    ([[0.0] * 4], [[1.0] * 4] * 3, "positive: mark at least 2 images \\(1 given\\)"),
    ([[0.0] * 4] * 2, [], "negative: mark at least 2"),
    ([[0.0] * 4] * 2, [[1.0] * 3] * 2, "negative: latents of 4 numbers"),
    ([[0.0, float("nan"), 0, 0]] * 2, [[1.0] * 4] * 2, "positive: holds NaN"),
    ([[0.0] * 4, "x"], [[1.0] * 4] * 2, "positive: give a list of latents"),
    ([[1.0] * 4] * 2, [[1.0] * 4] * 2, "no boundary"),
])
def test_teach_refuses_unusable_examples_naming_the_side(pos, neg, match):
    with pytest.raises(SteeringError, match=match):
        steering.teach(pos, neg, z_dim=4)


def test_a_taught_direction_saves_in_the_directions_format_and_loads_back(tmp_path):
    pos, neg = clicked()
    t = steering.teach(pos, neg)
    npy, meta = steering.save_taught(tmp_path, "round_nucleus", t, {"recipe": "dcgan", "step": 3})
    assert npy == tmp_path / "round_nucleus.npy"
    assert torch.allclose(load_direction(npy, 6), t.normal)
    info = json.loads(meta.read_text())
    assert info["validation"] == "leave-one-out" and info["model"]["step"] == 3 and info["n_positive"] == 6


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a:b", "a,b", ".hidden", "x" * 65, None, 3])
def test_direction_names_usable_in_edit_lists_and_as_file_names_only(name, tmp_path):
    with pytest.raises(SteeringError, match="name"):
        steering.check_name(name)
    assert steering.check_name("smile-2_b") == "smile-2_b"


class DrawsMeanwhile(nn.Module):
    """A generator that, in the middle of each pass, has another thread draw with it (the server's renders go on
    while directions are computed): hooks put on it for one thread must leave the other's passes alone."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.first, self.act, self.last = 4, nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)
        self.other: list = []

    def plain(self, z):
        return self.last(self.act(self.first(z)))

    def forward(self, z):
        import threading

        def draw():
            try:
                self.other.append(self.plain(z))
            except BaseException as e:  # noqa: BLE001 - what the other thread would have met
                self.other.append(e)

        t = threading.Thread(target=draw)
        t.start()
        t.join()
        return self.plain(z)


def test_hooks_for_directions_leave_other_threads_passes_alone():
    torch.manual_seed(0)
    G = DrawsMeanwhile().eval()
    assert steering.find_z_layer(G, 4).name == "first"
    x = steering.early_activations(G, torch.randn(6, 4), batch=3)
    assert x.shape == (6, 8)
    assert G.other and all(isinstance(o, torch.Tensor) and o.shape[1] == 2 for o in G.other)
