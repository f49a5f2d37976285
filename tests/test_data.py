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


@pytest.mark.parametrize("name,k", [("cifar10", 10), ("cifar100", 100)])
def test_fake_cifar_is_read_by_the_real_loader(tmp_path, monkeypatch, name, k):
    """The full profile's loading path, offline: official pickle format, shapes, dtypes and class counts."""
    folder = data.write_fake_cifar(tmp_path, name, n_train=10 * k, n_test=2 * k, seed=1)
    assert folder.name == {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name]
    tr, te = data.load_cifar_tensors(name, root=tmp_path, download=False)
    assert tr.x.shape == (10 * k, 3, 32, 32) and te.x.shape == (2 * k, 3, 32, 32)
    assert tr.x.dtype == torch.uint8 and tr.y.dtype == torch.long
    assert torch.equal(torch.bincount(tr.y, minlength=k), torch.full((k,), 10))
    # the pixel layout is the official one: row-major channel planes (R then G then B) of each 3072-byte row
    import pickle

    first = "data_batch_1" if name == "cifar10" else "train"
    with open(folder / first, "rb") as f:
        raw = pickle.load(f, encoding="latin1")["data"][0]
    assert torch.equal(tr.x[0, 1, 0, :], torch.from_numpy(raw[1024:1056]))
    # $MYLIB_DATA replaces the root argument
    monkeypatch.setenv("MYLIB_DATA", str(tmp_path))
    tr2, _ = data.load_cifar_tensors(name, root="nowhere", download=False)
    assert torch.equal(tr.x, tr2.x)


def test_cifar_loader_names_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_batch"):
        data.read_cifar("cifar10", tmp_path, train=False)
    folder = data.write_fake_cifar(tmp_path, "cifar10", n_train=50, n_test=10)
    (folder / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="data_batch_3"):
        data.read_cifar("cifar10", tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        data.write_fake_cifar(tmp_path, "cifar100", n_train=50)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.read_cifar("mnist", tmp_path)


def test_negative_and_non_integer_seeds_are_refused_by_the_splits():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            data.load_digits_split(seed=bad)
        with pytest.raises(ValueError, match="seed"):
            data.modular_addition_split(7, seed=bad)
    with pytest.raises(ValueError, match="seed"):
        data.load_digits_split(seed=2**32)


def test_fake_mnist_round_trip_and_loader(tmp_path, monkeypatch):
    folder = data.write_fake_mnist(tmp_path, n_train=30, n_test=10, seed=2)
    assert folder == tmp_path / "MNIST" / "raw"
    tr, te = data.read_mnist(tmp_path, train=True), data.read_mnist(tmp_path, train=False)
    assert tuple(tr.x.shape) == (30, 1, 28, 28) and tuple(te.x.shape) == (10, 1, 28, 28)
    assert tr.x.dtype == torch.float32 and 0.0 <= float(tr.x.min()) and float(tr.x.max()) <= 1.0
    assert sorted(np.bincount(tr.y.numpy()).tolist()) == [3] * 10 and sorted(te.y.tolist()) == list(range(10))
    raw = (folder / "train-images-idx3-ubyte").read_bytes()
    assert torch.equal(tr.x[0, 0], torch.from_numpy(np.frombuffer(raw[16:16 + 784], np.uint8).reshape(28, 28)
                                                   .astype(np.float32) / 255))
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    tr2, te2 = data.load_mnist_tensors(root=tmp_path / "elsewhere", download=False)
    assert torch.equal(tr2.x, tr.x) and torch.equal(te2.y, te.y)


def test_mnist_reader_names_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        data.read_mnist(tmp_path, train=False)
    folder = data.write_fake_mnist(tmp_path, n_train=10, n_test=10)
    labels = folder / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])  # truncated
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte"):
        data.read_mnist(tmp_path)
    (folder / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(12))  # labels magic on images
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        data.read_mnist(tmp_path, train=False)
    with pytest.raises(ValueError, match="n_train"):
        data.write_fake_mnist(tmp_path, n_train=5)
