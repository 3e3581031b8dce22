"""The protocol's code against hand-computed cases (numpy only: runs in the project's .venv, no PyTorch)."""

import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from seqrec.data import leave_one_out, left_pad, read_sequences  # noqa: E402
from seqrec.metrics import full_ranks, sample_negatives, sampled_ranks, summarize  # noqa: E402


class Metrics(unittest.TestCase):
    def test_full_ranking_excludes_history_and_padding(self):
        # Column 0 is padding (its 9.0 must not count); items 1..4.
        scores = np.array(
            [
                [9.0, 0.1, 0.5, 0.3, 0.9],  # target 2, history [4]: 4 (0.9) excluded -> 2 is first: rank 0
                [0.0, 0.8, 0.2, 0.7, 0.1],  # target 2, history [1]: 1 excluded, 3 (0.7) above -> rank 1
                [0.0, 0.5, 0.4, 0.9, 0.6],  # target 2 taken before, history [2, 3]: 3 excluded, the target kept -> 1 and 4 above: rank 2
            ]
        )
        ranks = full_ranks(scores, np.array([2, 2, 2]), [[4], [1], [2, 3]])
        self.assertEqual(ranks.tolist(), [0, 1, 2])
        m = summarize(ranks, ks=(1, 2, 10))
        self.assertAlmostEqual(m["hr@1"], 1 / 3)
        self.assertAlmostEqual(m["hr@2"], 2 / 3)
        self.assertAlmostEqual(m["hr@10"], 1.0)
        self.assertAlmostEqual(m["ndcg@1"], 1 / 3)
        self.assertAlmostEqual(m["ndcg@2"], (1 + 1 / math.log2(3)) / 3)
        self.assertAlmostEqual(m["ndcg@10"], (1 + 1 / math.log2(3) + 1 / math.log2(4)) / 3)

    def test_a_miss_scores_zero(self):
        m = summarize(np.array([20, 25]), ks=(10, 20))  # rank 20 is the 21st place
        self.assertEqual(m, {"hr@10": 0.0, "ndcg@10": 0.0, "hr@20": 0.0, "ndcg@20": 0.0})
        self.assertAlmostEqual(summarize(np.array([19]), ks=(20,))["ndcg@20"], 1 / math.log2(21))

    def test_sampled_ranking_counts_only_the_sampled_negatives(self):
        scores = np.array([[0.0, 0.9, 0.5, 0.7, 0.1, 0.8]])
        # target 3 (0.7) against negatives 1 (0.9), 4 (0.1), 2 (0.5): one above.
        self.assertEqual(sampled_ranks(scores, np.array([3]), np.array([[1, 4, 2]])).tolist(), [1])

    def test_negatives_are_distinct_never_taken_and_seeded(self):
        seqs = [[1, 2, 3], [5, 6]]
        a = sample_negatives(200, seqs, n=99, seed=7)
        self.assertEqual(a.shape, (2, 99))
        for row, seq in zip(a, seqs):
            self.assertEqual(len(set(row.tolist())), 99)
            self.assertFalse(set(row.tolist()) & set(seq))
            self.assertTrue(((row >= 1) & (row <= 200)).all())
        self.assertTrue((a == sample_negatives(200, seqs, n=99, seed=7)).all())
        with self.assertRaises(ValueError):
            sample_negatives(50, seqs, n=99)


class Data(unittest.TestCase):
    def test_leave_one_out_and_padding(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("u1 a b c d e\nu2 c x\n")
        ds = read_sequences(f.name)
        self.assertEqual(ds.vocab, ["a", "b", "c", "d", "e", "x"])
        self.assertEqual(ds.sequences, [[1, 2, 3, 4, 5], [3, 6]])
        s = leave_one_out(ds)
        self.assertEqual(s.train, [[1, 2, 3], [3, 6]])  # u2 (2 items) trains on all and is not evaluated
        self.assertEqual((s.valid_inputs, s.valid_targets.tolist()), ([[1, 2, 3]], [4]))
        self.assertEqual((s.test_inputs, s.test_targets.tolist()), ([[1, 2, 3, 4]], [5]))
        self.assertEqual(s.eval_users, [0])
        self.assertEqual(left_pad([[1, 2, 3], [4]], 2).tolist(), [[2, 3], [0, 4]])
        self.assertEqual(left_pad([[1]], 3, trim=False).tolist(), [[0, 0, 1]])

    def test_bad_lines_are_named(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("u1 a b\nu2\n")
        with self.assertRaisesRegex(ValueError, r":2: a user with no items"):
            read_sequences(f.name)


if __name__ == "__main__":
    unittest.main()
