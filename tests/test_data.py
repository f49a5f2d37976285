import importlib.util

import numpy as np
import pytest
import torch

from mylib import data


def test_digits_split_is_stratified_standardised_and_seeded():
    tr, te = data.load_digits_split(test_fraction=0.25, seed=0)
    assert len(tr) + len(te) == 1797 and tr.x.shape[1] == 64 and tr.x.dtype == torch.float32
    assert tr.num_classes == 10
    np.testing.assert_allclose(tr.x.mean(0).numpy(), 0, atol=1e-5)
    counts = torch.bincount(te.y, minlength=10).numpy()
    assert counts.min() >= 40  # stratified: every class present in proportion
    tr2, _ = data.load_digits_split(test_fraction=0.25, seed=0)
    assert torch.equal(tr.x, tr2.x)
    img, _ = data.load_digits_split(image=True)
    assert img.x.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError):
        data.load_digits_split(test_fraction=1.5)


def test_tensor_data_checks_lengths():
    with pytest.raises(ValueError, match="same length"):
        data.TensorData(torch.zeros(3, 2), torch.zeros(2))


def test_cifar_needs_torchvision_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load_cifar("mnist")
    if importlib.util.find_spec("torchvision") is None:
        with pytest.raises(ImportError, match="torchvision"):
            data.load_cifar("cifar10", download=False)


def test_constant_training_pixels_do_not_blow_up_the_test_split():
    for seed in range(3):
        tr, te = data.load_digits_split(seed=seed)
        dead = tr.x.std(0) == 0
        assert bool(dead.any())  # the digits have constant corner pixels
        assert float(te.x[:, dead].abs().max()) == 0.0
        assert float(te.x.abs().max()) < 100  # a real standardised pixel, not 1/1e-6
