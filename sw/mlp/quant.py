"""The int8 MLP and its post-training quantisation: one power-of-two shift per layer, as VTA's SHR.

The network has no biases (the FC compiler has no bias path), so it is positively homogeneous: scaling
a layer's weights by ``c > 0`` scales every later activation by ``c`` and leaves the prediction (the
argmax of the logits) unchanged.  That is what makes a per-layer power-of-two requantisation exact up
to rounding and saturation:

* the input is the image's pixels as they are, integers 0..16 (``load_digits``), which int8 holds
  exactly; the float model sees them divided by 16;
* each weight matrix is scaled by ``127 / max|W|`` and rounded to int8 (one scale per layer);
* each layer computes ``acc = x · Wqᵀ`` in int32, shifts it right by the layer's ``shift`` and
  saturates it: hidden layers to ``0..127`` (this clip *is* the ReLU: its lower bound 0), the last
  layer to ``-128..127`` (the int8 logits);
* the shift of a layer is chosen on the training set (:func:`quantise`): the smallest one that keeps
  all but ``saturation`` of the layer's outputs inside the clip range.

The int8 model's arithmetic is :func:`sw.fc.fc_reference`, the one numpy definition of an FC layer
with its epilogue, so the int8 model and the core are compared against the same computation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sw.fc import fc_reference

__all__ = ["QuantLayer", "QuantMLP", "quantise", "float_forward", "HIDDEN_CLIP", "LOGIT_CLIP",
           "MODEL_DIR", "DEFAULT_MODEL"]

#: Saturation of a hidden layer: ReLU and int8 in one clip.
HIDDEN_CLIP = (0, 127)
#: Saturation of the last layer's logits.
LOGIT_CLIP = (-128, 127)

#: Where the shipped model lives.
MODEL_DIR = Path(__file__).resolve().parent
#: The shipped model: 64 -> 128 -> 64 -> 10 on load_digits (``python -m sw.mlp.train`` rebuilds it).
DEFAULT_MODEL = MODEL_DIR / "digits_mlp.npz"


@dataclass(frozen=True)
class QuantLayer:
    """One int8 FC layer: ``clip((x · wᵀ) >> shift, lo, hi)``.

    Members
    -------
    w : np.ndarray     int8 (N, K)
    shift : int        arithmetic right shift of the int32 accumulator
    clip : (lo, hi)    saturation after the shift (``(0, 127)`` for a ReLU layer)
    """
    w: np.ndarray
    shift: int
    clip: tuple[int, int]

    @property
    def in_features(self) -> int:
        return self.w.shape[1]

    @property
    def out_features(self) -> int:
        return self.w.shape[0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer on int8 ``x`` (B, K): int8 (B, N)."""
        return fc_reference(x, self.w, self.shift, self.clip)


def float_forward(weights, x: np.ndarray) -> np.ndarray:
    """The float model: ReLU between the bias-free layers ``weights`` (each (N, K)); the logits."""
    h = np.asarray(x, dtype=np.float64)
    for i, w in enumerate(weights):
        h = h @ np.asarray(w, dtype=np.float64).T
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


@dataclass
class QuantMLP:
    """An int8 MLP with the float model it was quantised from, and where it came from.

    Members
    -------
    layers : list of QuantLayer
    float_weights : list of np.ndarray   the float (N, K) matrices, for the float model's accuracy
    input_scale : float                  float input = int8 input * input_scale
    x_test, y_test : np.ndarray          the test split shipped with the model: uint8 pixels (M, K) and
                                         labels (M,)
    provenance : dict                    seed, split, training settings, accuracies at creation
    """
    layers: list[QuantLayer]
    float_weights: list[np.ndarray]
    input_scale: float
    x_test: np.ndarray
    y_test: np.ndarray
    provenance: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Features at every layer boundary, e.g. (64, 128, 64, 10)."""
        return (self.layers[0].in_features, *(l.out_features for l in self.layers))

    def input_int8(self, pixels: np.ndarray) -> np.ndarray:
        """The int8 input of the core for ``pixels`` (M, K) of integers 0..127."""
        p = np.asarray(pixels)
        if p.ndim != 2 or p.shape[1] != self.shape[0]:
            raise ValueError(f"input must be (M, {self.shape[0]}), got shape {p.shape}")
        if p.size and (p.min() < 0 or p.max() > 127):
            raise ValueError(f"input pixels must be 0..127, got {p.min()}..{p.max()}")
        return p.astype(np.int8)

    def forward_int8(self, x: np.ndarray, *, all_layers: bool = False):
        """The int8 numpy model on int8 ``x``: the int8 logits (M, classes), or with ``all_layers`` the
        list of every layer's output."""
        outs = []
        h = x
        for layer in self.layers:
            h = layer.forward(h)
            outs.append(h)
        return outs if all_layers else h

    def forward_float(self, pixels: np.ndarray) -> np.ndarray:
        """The float model's logits for ``pixels``."""
        return float_forward(self.float_weights, np.asarray(pixels, dtype=np.float64) * self.input_scale)

    # -- file ----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as one ``.npz`` (arrays, and the provenance as JSON text)."""
        arrays = {"input_scale": np.float64(self.input_scale), "x_test": self.x_test,
                  "y_test": self.y_test,
                  "provenance": np.array(json.dumps(self.provenance, sort_keys=True))}
        for i, (layer, wf) in enumerate(zip(self.layers, self.float_weights)):
            arrays[f"w{i}"] = layer.w
            arrays[f"shift{i}"] = np.int64(layer.shift)
            arrays[f"clip{i}"] = np.array(layer.clip, dtype=np.int64)
            arrays[f"wf{i}"] = np.asarray(wf, dtype=np.float32)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "QuantMLP":
        """Read a model written by :meth:`save` (default: the shipped :data:`DEFAULT_MODEL`).

        Raises
        ------
        ValueError
            If the file cannot be read or is not such a model; the message names the file.
        """
        path = Path(path) if path is not None else DEFAULT_MODEL
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot read the model: {e}") from None
        try:
            n = sum(1 for k in data if k.startswith("wf"))
            layers = [QuantLayer(w=data[f"w{i}"].astype(np.int8), shift=int(data[f"shift{i}"]),
                                 clip=tuple(int(v) for v in data[f"clip{i}"])) for i in range(n)]
            model = cls(layers=layers, float_weights=[data[f"wf{i}"] for i in range(n)],
                        input_scale=float(data["input_scale"]), x_test=data["x_test"],
                        y_test=data["y_test"], provenance=json.loads(str(data["provenance"])))
        except KeyError as e:
            raise ValueError(f"{path}: not a quantised MLP: missing array {e.args[0]!r}") from None
        if n == 0:
            raise ValueError(f"{path}: not a quantised MLP: no layers")
        for a, b in zip(model.shape[1:-1], (l.in_features for l in layers[1:])):
            if a != b:
                raise ValueError(f"{path}: layer widths do not chain: {model.shape}")
        return model


def _int8_scale(w: np.ndarray) -> np.ndarray:
    m = float(np.max(np.abs(w)))
    if m == 0.0:
        raise ValueError("a weight matrix is all zeros")
    return np.clip(np.rint(w * (127.0 / m)), -127, 127).astype(np.int8)


def _choose_shift(acc: np.ndarray, hi: int, saturation: float) -> int:
    """The smallest shift after which at most a fraction ``saturation`` of |acc| exceeds ``hi``."""
    mag = np.abs(acc).ravel()
    for s in range(32):
        if np.mean((mag >> s) > hi) <= saturation:
            return s
    return 31


def quantise(float_weights, x_calib: np.ndarray, *, input_scale: float, saturation: float = 1e-3):
    """Quantise bias-free float layers to :class:`QuantLayer` s.

    Parameters
    ----------
    float_weights : list of array (N, K)
    x_calib : array (M, K) of int8-range integers
        Calibration inputs (the training set): each layer's shift is chosen from the int32
        accumulators the int8 model produces on them.
    input_scale : float
        Float input = integer input * input_scale (only recorded: the shifts need no scales, the
        network being homogeneous).
    saturation : float
        Fraction of a layer's outputs allowed to saturate.

    Returns
    -------
    list of QuantLayer
    """
    layers = []
    h = np.asarray(x_calib).astype(np.int8)
    for i, wf in enumerate(float_weights):
        wq = _int8_scale(np.asarray(wf, dtype=np.float64))
        last = i == len(float_weights) - 1
        clip = LOGIT_CLIP if last else HIDDEN_CLIP
        acc = h.astype(np.int64) @ wq.astype(np.int64).T
        shift = _choose_shift(acc if last else np.maximum(acc, 0), clip[1], saturation)
        layer = QuantLayer(w=wq, shift=shift, clip=clip)
        layers.append(layer)
        h = layer.forward(h)
    return layers
