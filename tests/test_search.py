"""utils.evaluation.search.nearest_neighbors: exact neighbours, streaming databases, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from utils.evaluation.metrics import data_mse_batch, spatial_stats_mse_batch
from utils.evaluation.search import NeighborResult, nearest_neighbors
from utils.statistics.two_point import spatial_statistics

SETTINGS = settings(max_examples=30, deadline=None)


def brute_force(queries: np.ndarray, database: np.ndarray, space: str) -> np.ndarray:
    """(Q, N) float64 MSE of every pair, computed pair by pair in real space (utils.evaluation.metrics)."""
    mse = data_mse_batch if space == "data" else spatial_stats_mse_batch
    return np.stack([mse(np.broadcast_to(q, database.shape), database) for q in queries])


def assert_true_neighbours(result: NeighborResult, truth: np.ndarray, k: int, exact_order: bool) -> None:
    expected = np.sort(truth, axis=1, kind="stable")[:, :k]
    np.testing.assert_allclose(result.mse, expected, rtol=1e-9, atol=1e-18)
    rows = np.arange(len(truth))[:, None]
    np.testing.assert_allclose(truth[rows, result.indices], expected, rtol=1e-9, atol=1e-18)
    assert all(len(set(r)) == k for r in result.indices.tolist())
    if exact_order:
        np.testing.assert_array_equal(result.indices, np.argsort(truth, axis=1, kind="stable")[:, :k])
    # mean / std come from the matrix product: absolute error ~1e-12 of the squared norms (all <= ~1 here)
    np.testing.assert_allclose(result.mean, truth.mean(axis=1), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(result.std, truth.std(axis=1), rtol=1e-6, atol=1e-13)


def test_known_answer_in_data_space():
    database = np.stack([np.zeros((4, 4)), np.ones((4, 4)), np.full((4, 4), 0.5)])
    result = nearest_neighbors(np.full((1, 4, 4), 0.4), database, k=3)
    assert result.indices.tolist() == [[2, 0, 1]]
    np.testing.assert_allclose(result.mse, [[0.01, 0.16, 0.36]], rtol=1e-12)
    np.testing.assert_allclose(result.mean, [np.mean([0.16, 0.36, 0.01])], rtol=1e-12)
    np.testing.assert_allclose(result.std, [np.std([0.16, 0.36, 0.01])], rtol=1e-9)
    assert result.n_database == 3 and result.indices.dtype == np.int64


def test_known_answer_in_stats_space_shifted_copy_is_at_distance_zero():
    rng = np.random.default_rng(0)
    image = (rng.random((12, 10)) > 0.7).astype(np.uint8)
    database = np.stack([1 - image, np.roll(image, (3, 4), axis=(0, 1)), np.ones_like(image)])
    result = nearest_neighbors(image[None].astype(np.float32), database, k=1, space="spatial_stats")
    assert result.indices.tolist() == [[1]] and result.mse[0, 0] < 1e-20


search_case = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "shape": st.tuples(st.integers(3, 9), st.integers(3, 9)),
    "n": st.integers(1, 40),
    "n_queries": st.integers(1, 4),
    "k": st.integers(1, 6),
    "n_near": st.integers(0, 10),
    "batch_size": st.integers(1, 17),
    "space": st.sampled_from(["data", "spatial_stats"]),
})


def make_case(case: dict) -> tuple[np.ndarray, np.ndarray]:
    """Coarse grey levels (many exact ties) plus exact and near duplicates (differences ~1e-7)."""
    rng = np.random.default_rng(case["seed"])
    n, (h, w) = case["n"], case["shape"]
    database = rng.choice([0.0, 0.25, 0.5, 1.0], size=(n, h, w))
    for _ in range(case["n_near"]):
        i, j = rng.integers(n, size=2)
        database[i] = database[j]
        database[i, rng.integers(h), rng.integers(w)] += rng.choice([0.0, 1e-7, -3e-7])
    queries = rng.random((case["n_queries"], h, w))
    if n > 1:
        queries[0] = database[0]
    return queries, database


@SETTINGS
@given(search_case)
def test_equals_float64_brute_force_including_ties(case):
    queries, database = make_case(case)
    k = min(case["k"], case["n"])
    result = nearest_neighbors(queries, database, k=k, space=case["space"], batch_size=case["batch_size"])
    assert_true_neighbours(result, brute_force(queries, database, case["space"]), k, exact_order=False)


@SETTINGS
@given(search_case)
def test_streamed_batches_equal_in_memory(case):
    queries, database = make_case(case)
    k = min(case["k"], case["n"])
    whole = nearest_neighbors(queries, database, k=k, space=case["space"], batch_size=10_000)
    cuts = np.sort(np.random.default_rng(case["seed"]).integers(0, case["n"] + 1, size=3))
    chunks = (torch.tensor(c) for c in np.split(database, cuts))   # a generator, with empty chunks
    streamed = nearest_neighbors(queries, chunks, k=k, space=case["space"])
    np.testing.assert_allclose(streamed.mse, whole.mse, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-9, atol=1e-13)   # see "Exactness"
    assert streamed.n_database == case["n"]
    truth = brute_force(queries, database, case["space"])
    rows = np.arange(len(queries))[:, None]
    np.testing.assert_allclose(truth[rows, streamed.indices], truth[rows, whole.indices], rtol=1e-9, atol=1e-18)


def near_duplicates(space: str, n: int = 12, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A query and ``n`` copies of it, each nudged at one pixel by a tiny, distinct amount."""
    rng = np.random.default_rng(7)
    query = 0.5 + 0.5 * rng.random((size, size))
    steps = rng.permutation(np.arange(1, n + 1)) * (1e-5 if space == "data" else 1e-4)
    database = np.repeat(query[None], n, axis=0)
    for i, step in enumerate(steps):
        database[i, rng.integers(size), rng.integers(size)] += step
    return query[None], database


def naive_float32(queries: np.ndarray, database: np.ndarray, space: str) -> np.ndarray:
    """The textbook ||a||^2 + ||b||^2 - 2 a.b in float32: what the search must not do."""
    def vectors(x):
        x = torch.tensor(x, dtype=torch.float32)
        return (x if space == "data" else spatial_statistics(x)).reshape(len(x), -1)
    q, d = vectors(queries), vectors(database)
    return ((q * q).sum(1)[:, None] + (d * d).sum(1)[None] - 2 * q @ d.T).numpy()


@pytest.mark.parametrize("space", ["data", "spatial_stats"])
def test_near_duplicates_that_float32_reorders_come_out_in_the_true_order(space):
    queries, database = near_duplicates(space)
    truth = brute_force(queries, database, space)
    order = np.argsort(truth[0])
    assert np.all(np.diff(truth[0, order]) > 1e-6 * truth[0, order][1:])   # no ties: one true order
    assert not np.array_equal(np.argsort(naive_float32(queries, database, space)[0], kind="stable"), order)
    result = nearest_neighbors(queries, database, k=len(database), space=space, batch_size=5)
    np.testing.assert_array_equal(result.indices[0], order)
    np.testing.assert_allclose(result.mse[0], truth[0, order], rtol=1e-9)


def test_precomputed_statistics_give_the_same_neighbours():
    rng = np.random.default_rng(3)
    database = (rng.random((30, 10, 10)) > 0.8).astype(np.uint8)
    queries = torch.tensor(rng.random((4, 1, 10, 10)), dtype=torch.float32, requires_grad=True)
    stats = spatial_statistics(torch.tensor(database, dtype=torch.float64)).numpy()
    from_images = nearest_neighbors(queries, database, k=5, space="spatial_stats", batch_size=7)
    from_stats = nearest_neighbors(queries, stats, k=5, space="spatial_stats", precomputed=True, batch_size=7)
    truth = brute_force(queries.detach().numpy()[:, 0].astype(np.float64), database.astype(np.float64),
                        "spatial_stats")
    assert_true_neighbours(from_images, truth, 5, exact_order=False)
    assert_true_neighbours(from_stats, truth, 5, exact_order=False)


def test_binary_integer_images_equal_their_float_version():
    rng = np.random.default_rng(4)
    database = (rng.random((20, 8, 8)) > 0.7).astype(np.uint8)
    queries = rng.random((3, 8, 8))
    a = nearest_neighbors(queries, database, k=4, space="spatial_stats")
    b = nearest_neighbors(queries, database.astype(np.float32), k=4, space="spatial_stats")
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.mse, b.mse, rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"space": "pixels"}, "space must be one of"),
    ({"space": "data", "precomputed": True}, "precomputed=True"),
    ({"k": 0}, "k must be"),
    ({"k": 11}, "fewer than k=11"),
    ({"batch_size": 0}, "batch_size"),
])
def test_validation_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nearest_neighbors(np.zeros((1, 4, 4)), np.zeros((10, 4, 4)), **kwargs)


def test_validation_of_inputs():
    with pytest.raises(ValueError, match="database images are"):
        nearest_neighbors(np.zeros((1, 4, 4)), np.zeros((10, 5, 4)))
    with pytest.raises(ValueError, match="outside"):
        nearest_neighbors(np.zeros((1, 4, 4)), np.full((3, 4, 4), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        nearest_neighbors(np.zeros((4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="empty"):
        nearest_neighbors(np.zeros((0, 4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(TypeError, match="iterable"):
        nearest_neighbors(np.zeros((1, 4, 4)), [[0.0]])
