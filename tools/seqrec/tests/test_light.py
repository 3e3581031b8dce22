"""The numpy recommender of `npm start`'s demo (seqrec.light): its gradients against finite differences,
and its ONNX graph against its numpy scores (numpy + onnx + onnxruntime: the project's .venv)."""

import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from seqrec.graph import onnx_scores  # noqa: E402
from seqrec.light import Factorized, examples  # noqa: E402


def loss_of(m: Factorized, x: np.ndarray, y: np.ndarray) -> float:
    return m.step_grads(x, y)[0]


class FactorizedTest(unittest.TestCase):
    def setUp(self):
        self.m = Factorized(n_items=7, dim=4, max_len=3, seed=1)
        self.m.w[:] = [0.3, -0.2, 0.5]
        for k in ("E", "O", "b", "w"):
            setattr(self.m, k, getattr(self.m, k).astype(np.float64))
        self.m.E[0] = 0
        self.x = np.array([[0, 1, 2], [3, 4, 5], [0, 0, 6]], dtype=np.int64)
        self.y = np.array([3, 6, 1], dtype=np.int64)

    def test_gradients_match_finite_differences(self):
        _, grads = self.m.step_grads(self.x, self.y)
        eps = 1e-6
        for name, coords in (("E", [(1, 0), (5, 3), (6, 2)]), ("O", [(3, 1), (6, 0), (2, 2)]), ("b", [(1,), (4,)]), ("w", [(0,), (1,), (2,)])):
            p = getattr(self.m, name)
            for c in coords:
                old = p[c]
                p[c] = old + eps
                up = loss_of(self.m, self.x, self.y)
                p[c] = old - eps
                down = loss_of(self.m, self.x, self.y)
                p[c] = old
                self.assertAlmostEqual(grads[name][c], (up - down) / (2 * eps), places=6, msg=f"{name}{c}")

    def test_sampled_gradients_match_finite_differences(self):
        neg = np.array([2, 5, 5, 7])
        _, grads = self.m.step_grads_sampled(self.x, self.y, neg)
        eps = 1e-6
        loss = lambda: self.m.step_grads_sampled(self.x, self.y, neg)[0]  # noqa: E731
        for name, coords in (("E", [(1, 0), (6, 2)]), ("O", [(3, 1), (5, 0), (4, 1)]), ("b", [(6,), (4,)]), ("w", [(0,), (2,)])):
            p = getattr(self.m, name)
            for c in coords:
                old = p[c]
                p[c] = old + eps
                up = loss()
                p[c] = old - eps
                down = loss()
                p[c] = old
                self.assertAlmostEqual(grads[name][c], (up - down) / (2 * eps), places=6, msg=f"{name}{c}")
        # Column 4 is neither a target nor a negative: no gradient.
        self.assertTrue(np.all(grads["O"][4] == 0))

    def test_padding_is_ignored_and_examples_are_every_prefix(self):
        h1, _ = self.m.hidden(np.array([[0, 0, 6]]))
        np.testing.assert_allclose(h1[0], self.m.E[6])
        x, y = examples([[1, 2, 3]], max_len=2)
        np.testing.assert_array_equal(x, [[0, 1], [1, 2]])
        np.testing.assert_array_equal(y, [2, 3])

    def test_onnx_graph_scores_as_numpy(self):
        m = Factorized(n_items=7, dim=4, max_len=3, seed=2)
        m.w[:] = [0.1, 0.2, 0.9]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.onnx")
            m.export_onnx(path)
            inputs = [[1], [2, 3], [4, 5, 6, 7]]
            got = onnx_scores(path, inputs, 3)
            from seqrec.data import left_pad

            want = m.scores(left_pad(inputs, 3, trim=False))
            np.testing.assert_allclose(got[:, 1:], want[:, 1:], atol=1e-5)
            self.assertEqual(got.shape, (3, 8))


if __name__ == "__main__":
    unittest.main()
