"""Calling DIET's traced prediction graph directly, without TensorFlow's per-call dispatch.

Rasa 3.6 predicts through a `tf.function` with a fixed input signature (`RasaModel.
_rasa_predict`). Every call then goes through TensorFlow 2.12's polymorphic-function dispatch
(`_maybe_define_function`, `canonicalize_function_inputs`, casting and checking each input
against the signature) before the one graph it can ever pick runs: ~0.6 ms of a ~4 ms parse
here, about as much as the graph itself. The graph is the function's only concrete function;
here it is called with the batch's tensors as they are when every input already has the
signature's dtype and a compatible shape (so dispatch would have picked it and cast nothing);
any other batch, an eager model, or a model not yet traced takes Rasa's own path. Parses are
bit-identical (tests/unit/test_rasa_patches_tf_predict.py). This relies on
`ConcreteFunction._call_flat` of the TensorFlow Rasa 3.6 pins (2.12); if Rasa or TensorFlow is
upgraded, rerun that test, or drop this module.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from keras.utils import tf_utils
from rasa.shared.constants import DIAGNOSTIC_DATA
from rasa.utils.tensorflow.models import RasaModel

_original = RasaModel._rasa_predict
# On the model's __dict__ (not Keras attribute tracking, which would try to track it).
_KEY = "_rasa_patches_concrete_predict"


def _fits(array: Any, spec: tf.TensorSpec) -> bool:
    return (
        isinstance(array, np.ndarray)
        and array.dtype == spec.dtype.as_numpy_dtype
        and spec.shape.is_compatible_with(array.shape)
    )


def _concrete(model: RasaModel) -> Optional[Tuple[Any, Sequence[tf.TensorSpec]]]:
    traced = getattr(model, "_tf_predict_step", None)
    if traced is None:
        return None
    known = model.__dict__.get(_KEY)
    if known is None or known[0] is not traced:
        concrete = traced.get_concrete_function()
        specs = concrete.structured_input_signature[0][0]
        known = model.__dict__[_KEY] = (traced, concrete, specs)
    return known[1], known[2]


def rasa_predict(
    self: RasaModel, batch_in: Tuple[np.ndarray, ...]
) -> Dict[str, Any]:
    """Rasa's `RasaModel._rasa_predict`, calling the traced graph directly where it can."""
    found = None if self._run_eagerly or not self.prepared_for_prediction else _concrete(self)
    if found is None:
        return _original(self, batch_in)
    concrete, specs = found
    if len(batch_in) != len(specs) or not all(map(_fits, batch_in, specs)):
        return _original(self, batch_in)
    self._training = False
    tensors = [tf.convert_to_tensor(array) for array in batch_in]
    outputs = tf_utils.sync_to_numpy_or_python_type(
        concrete._call_flat(tensors, concrete.captured_inputs)
    )
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def apply() -> None:
    """Replaces the method on Rasa's RasaModel (idempotent)."""
    RasaModel._rasa_predict = rasa_predict
