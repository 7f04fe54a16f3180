"""BatchRandom: the ranks' slices, put together, are exactly one process's draw; each rank's slice differs."""

import pytest
import torch

from gankit.regularizers.batch_random import BatchRandom, batch_random


def _draws(world, method, *args, **kwargs):
    return [getattr(BatchRandom(torch.Generator().manual_seed(7), rank, world), method)(*args, **kwargs)
            for rank in range(world)]


@pytest.mark.parametrize("method,local,whole,kwargs,dim", [
    ("rand", (4, 1, 1, 1), (12, 1, 1, 1), {}, 0),
    ("randn", (4, 3), (12, 3), {}, 0),
    ("randint", (-3, 4, (4, 1, 1)), (-3, 4, (12, 1, 1)), {}, 0),
    ("rand", (2, 4), (2, 12), {"dim": 1}, 1),  # noisy labels draw (2, n): the batch is the second dimension
])
def test_three_slices_make_up_one_process_draw(method, local, whole, kwargs, dim):
    parts = _draws(3, method, *local, **kwargs)
    one = _draws(1, method, *whole, **kwargs)[0]
    assert torch.equal(torch.cat(parts, dim), one)
    assert not torch.equal(parts[0], parts[1])  # ranks get different numbers, not copies


def test_plain_generator_and_none_are_accepted():
    g = torch.Generator().manual_seed(3)
    assert torch.equal(batch_random(g).rand(5), torch.rand(5, generator=torch.Generator().manual_seed(3)))
    r = BatchRandom(None, 1, 2)
    assert batch_random(r) is r and batch_random(None).rand(2).shape == (2,)
