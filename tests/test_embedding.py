"""2-D views of codes: the plane (latent axes or PCA), the lattice's values and orientation."""

import torch

from gankit.embedding import axis_values, lattice, plane_of


def test_two_d_codes_are_drawn_as_they_are():
    z = torch.randn(50, 2)
    plane = plane_of(z)
    assert plane.explained is None
    assert torch.allclose(plane.project(z.double()), z.double()) and torch.allclose(plane.lift(z.double()), z.double())


def test_wider_codes_use_their_principal_plane():
    g = torch.Generator().manual_seed(0)
    # variance 9 along e1 + e2, 1 along e3, almost none elsewhere
    basis = torch.tensor([[1.0, 1, 0, 0], [0, 0, 1, 0]]) / torch.tensor([[2 ** 0.5], [1.0]])
    z = (torch.randn(4000, 2, generator=g) * torch.tensor([3.0, 1.0])) @ basis + 5
    z = z + 0.01 * torch.randn(4000, 4, generator=g)
    plane = plane_of(z)
    assert torch.allclose(plane.basis.T @ plane.basis, torch.eye(2, dtype=torch.float64), atol=1e-9)
    assert abs(abs(float(plane.basis[:, 0] @ basis[0].double())) - 1) < 1e-3  # PC1 is the e1 + e2 direction
    assert torch.allclose(plane.explained, torch.tensor([0.9, 0.1], dtype=torch.float64), atol=0.02)
    assert torch.allclose(plane.origin, torch.full((4,), 5.0, dtype=torch.float64), atol=0.15)
    coords = plane.project(z.double())
    assert torch.allclose(plane.lift(coords), z.double(), atol=0.1)  # round trip up to the discarded noise


def test_axis_values_prior_quantiles_or_code_range():
    u, v = axis_values(torch.zeros(10, 2), 5, prior=True)
    expected = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9])).double()
    assert torch.allclose(u, expected, atol=1e-6) and torch.equal(u, v)
    coords = torch.stack([torch.linspace(-2, 2, 1001), torch.linspace(10, 20, 1001)], dim=1)
    u, v = axis_values(coords, 3, prior=False)
    assert torch.allclose(u, torch.tensor([-1.98, 0.0, 1.98]), atol=1e-4)
    assert torch.allclose(v, torch.tensor([10.05, 15.0, 19.95]), atol=1e-4)


def test_lattice_reads_like_the_scatter_plot():
    pts = lattice(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([10.0, 20.0]))
    # row 0 is the top (largest v), columns grow in u
    assert pts.tolist() == [[0, 20], [1, 20], [2, 20], [0, 10], [1, 10], [2, 10]]
