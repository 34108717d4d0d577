"""An int8 MLP on real data (scikit-learn's ``load_digits``), compiled layer by layer for the core.

* :mod:`sw.mlp.quant`: the int8 model (:class:`QuantMLP`), its post-training quantisation with one
  power-of-two shift per layer, the float model, the model file;
* :mod:`sw.mlp.core`: compiling every layer as an FC (:func:`compile_mlp`) and running them on a backend
  with each layer's out region fed as it is to the next layer's inp region (:meth:`CompiledMLP.run`);
* :mod:`sw.mlp.train`: retraining the shipped model deterministically (needs scikit-learn).

Example
-------
>>> from sw.mlp import QuantMLP, compile_mlp, accuracy
>>> model = QuantMLP.load()                     # the shipped 64-128-64-10 digits model
>>> x = model.input_int8(model.x_test)          # the test split as int8
>>> run = compile_mlp(model, batch=64).run(x, backend="fsim")
>>> bool((run.logits == model.forward_int8(x)).all())
True
>>> accuracy(run.logits, model.y_test) >= 0.95
True
"""

from __future__ import annotations

import numpy as np

from .core import CompiledMLP, LayerRun, MLPRun, check_chain, compile_mlp, layer_bounds, run_mlp, with_inp
from .quant import DEFAULT_MODEL, QuantLayer, QuantMLP, float_forward, quantise

__all__ = ["QuantMLP", "QuantLayer", "quantise", "float_forward", "DEFAULT_MODEL", "CompiledMLP",
           "LayerRun", "MLPRun", "compile_mlp", "run_mlp", "check_chain", "with_inp", "layer_bounds",
           "accuracy", "DATASETS"]

#: The datasets ``vta run mlp --dataset`` knows: name -> model file (with its test split).
DATASETS = {"digits": DEFAULT_MODEL}


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest logit (the first, on a tie) is at the label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))
