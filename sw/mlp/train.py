"""Retrain the shipped digits MLP deterministically: ``python -m sw.mlp.train [--out FILE]``.

Needs scikit-learn (``pip install -e ".[mlp]"``) for its bundled ``load_digits`` (1,797 8×8 images of
pixels 0..16, no download) and its ``train_test_split``.  The float model is trained here in numpy
(bias-free layers, ReLU, softmax cross-entropy, Adam, mini-batches in a seeded order), then quantised
by :func:`sw.mlp.quant.quantise`; the result, with the test split and its provenance (seed, split,
settings, the float and int8 accuracies, library versions), is written with :meth:`QuantMLP.save`.

Training uses float64 and one thread's worth of arithmetic per step, so with the same seed and numpy
version it reproduces the same weights.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import accuracy
from .quant import DEFAULT_MODEL, QuantMLP, float_forward, quantise

__all__ = ["load_split", "train_float", "build_model", "main", "HIDDEN", "SEED", "TRAINING"]

#: Hidden widths of the shipped model.
HIDDEN = (128, 64)
#: Seed of the split, the initial weights and the mini-batch order.
SEED = 0
TEST_FRACTION = 0.2
INPUT_SCALE = 1.0 / 16.0       # load_digits' pixels are 0..16
#: Training settings of the shipped model (keyword arguments of :func:`train_float`).
TRAINING = {"epochs": 100, "batch": 32, "lr": 1e-3, "weight_decay": 1e-4}


def load_split(seed: int = SEED):
    """``load_digits`` split stratified into train and test: (x_train, x_test, y_train, y_test), pixels
    as uint8 0..16."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:
        raise RuntimeError(f"retraining needs scikit-learn (pip install -e \".[mlp]\"): {e}") from None
    d = load_digits()
    x = d.data.astype(np.uint8)
    return train_test_split(x, d.target.astype(np.int64), test_size=TEST_FRACTION, random_state=seed,
                            stratify=d.target)


def train_float(x: np.ndarray, y: np.ndarray, *, hidden=HIDDEN, seed: int = SEED,
                epochs: int = TRAINING["epochs"], batch: int = TRAINING["batch"],
                lr: float = TRAINING["lr"], weight_decay: float = TRAINING["weight_decay"]
                ) -> list[np.ndarray]:
    """Train bias-free ReLU layers on float inputs ``x`` (M, K) and labels ``y``; the (N, K) weights."""
    rng = np.random.default_rng(seed)
    sizes = (x.shape[1], *hidden, int(y.max()) + 1)
    ws = [rng.normal(0.0, np.sqrt(2.0 / k), (n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    onehot = np.eye(sizes[-1])[y]
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            acts = [x[idx]]
            for j, w in enumerate(ws):
                h = acts[-1] @ w.T
                acts.append(np.maximum(h, 0.0) if j < len(ws) - 1 else h)
            z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            grad = (p - onehot[idx]) / len(idx)
            t += 1
            for j in range(len(ws) - 1, -1, -1):
                g = grad.T @ acts[j] + weight_decay * ws[j]
                if j > 0:
                    grad = (grad @ ws[j]) * (acts[j] > 0)
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                mh, vh = m[j] / (1 - b1 ** t), v[j] / (1 - b2 ** t)
                ws[j] = ws[j] - lr * mh / (np.sqrt(vh) + eps)
    return ws


def build_model(seed: int = SEED, hidden=HIDDEN, **train_opts) -> QuantMLP:
    """Split, train, quantise and measure: the :class:`QuantMLP` with its provenance."""
    import sklearn
    x_tr, x_te, y_tr, y_te = load_split(seed)
    ws = train_float(x_tr * INPUT_SCALE, y_tr, hidden=hidden, seed=seed, **train_opts)
    layers = quantise(ws, x_tr, input_scale=INPUT_SCALE)
    model = QuantMLP(layers=layers, float_weights=[w.astype(np.float32) for w in ws],
                     input_scale=INPUT_SCALE, x_test=x_te, y_test=y_te)
    acc = {}
    for name, xs, ys in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        acc[f"float_{name}"] = accuracy(float_forward(model.float_weights, xs * INPUT_SCALE), ys)
        acc[f"int8_{name}"] = accuracy(model.forward_int8(model.input_int8(xs)), ys)
    model.provenance = {
        "dataset": "sklearn.datasets.load_digits", "split": "train_test_split(test_size=%g, "
        "random_state=seed, stratify=target)" % TEST_FRACTION, "seed": seed,
        "n_train": int(len(x_tr)), "n_test": int(len(x_te)), "shape": list(model.shape),
        "training": {"optimizer": "adam", "loss": "softmax cross-entropy", "bias": False,
                     "hidden": list(hidden), **TRAINING, **train_opts},
        "quantisation": "per-layer int8 weights scaled by 127/max|W|, power-of-two shift per layer "
                        "chosen on the training set (at most 0.1% saturated)",
        "shifts": [l.shift for l in layers], "clips": [list(l.clip) for l in layers],
        "accuracy": acc, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
        "retrain": "python -m sw.mlp.train",
    }
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sw.mlp.train", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(DEFAULT_MODEL), help="model file (default: the shipped one)")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    model = build_model(args.seed)
    model.save(args.out)
    a = model.provenance["accuracy"]
    print(f"wrote {args.out}: shape {model.shape}, shifts {model.provenance['shifts']}, test accuracy "
          f"float {a['float_test']:.4f}, int8 {a['int8_test']:.4f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
