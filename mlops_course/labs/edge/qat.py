"""Quantization-aware training with Keras 3 (module m5_edge): a Dense layer that trains
with 8-bit rounding simulated ("fake quantization").

The TensorFlow Model Optimization toolkit cannot do this here: it needs Keras 2
(``tf-keras``), and importing it switches ``tf.keras`` to Keras 2 for the whole process.
:class:`FakeQuantDense` does for one Dense layer what its QAT wrapper does:

- the **kernel** is rounded to 8 bits in every forward pass: symmetric, per tensor,
  -127..127 with the scale ``max|w| / 127`` (the grid an int8 TFLite kernel uses);
- the **output** is rounded to 8 bits over the range seen in training (a moving
  average of each batch's min and max, as tfmot keeps it);
- ``tf.quantization.fake_quant_with_min_max_vars`` rounds in the forward pass and lets
  the gradient through unchanged inside the range (the *straight-through estimator*),
  so the float weights keep learning while the loss already sees the rounding.

After fine-tuning, convert the model with the usual full-int8 settings. The converter
still calibrates the activations with the representative data set (it does not read
the ranges of these ops in a Keras 3 model); what QAT brings is weights that sit on the
8-bit grid and a model that learned to live with rounded activations.

Needs the TensorFlow backend of Keras (the course's default).
"""

from __future__ import annotations

from mlops_course.labs.edge.tflite_eval import import_tensorflow

tf = import_tensorflow()  # quietly: the course's log settings apply before TensorFlow loads

RANGE_MOMENTUM = 0.99  # moving average of the output range, per training batch


class FakeQuantDense(tf.keras.layers.Layer):
    """``Dense(units, activation)`` whose kernel and output are fake-quantized to 8 bits.

    To start from a trained ``Dense`` layer, build the new layer (put it in a model
    with an ``Input``) and copy the weights: ``new.kernel.assign(old.kernel)``,
    ``new.bias.assign(old.bias)``. The output range is learned from the first
    training batch on."""

    def __init__(self, units: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = tf.keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        # the output range seen in training; (0, 0) until the first training batch
        self.output_min = self.add_weight(name="output_min", shape=(), initializer="zeros", trainable=False)
        self.output_max = self.add_weight(name="output_max", shape=(), initializer="zeros", trainable=False)

    def quantized_kernel(self):
        """The kernel as int8 sees it: rounded to 255 symmetric levels (float values)."""
        limit = tf.maximum(tf.reduce_max(tf.abs(self.kernel)), 1e-8)
        return tf.quantization.fake_quant_with_min_max_vars(
            self.kernel, -limit, limit, num_bits=8, narrow_range=True
        )

    def call(self, inputs, training=False):
        outputs = self.activation(tf.matmul(inputs, self.quantized_kernel()) + self.bias)
        if training:
            low, high = tf.reduce_min(outputs), tf.reduce_max(outputs)
            first = tf.equal(self.output_max, self.output_min)
            self.output_min.assign(
                tf.where(first, low, RANGE_MOMENTUM * self.output_min + (1 - RANGE_MOMENTUM) * low)
            )
            self.output_max.assign(
                tf.where(first, high, RANGE_MOMENTUM * self.output_max + (1 - RANGE_MOMENTUM) * high)
            )
        seen = tf.greater(self.output_max, self.output_min)
        # the range must hold 0 (ReLU outputs start there); before any training, no rounding
        low = tf.minimum(self.output_min, 0.0)
        high = tf.maximum(self.output_max, low + 1e-6)
        rounded = tf.quantization.fake_quant_with_min_max_vars(outputs, low, high, num_bits=8)
        return tf.where(seen, rounded, outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": tf.keras.activations.serialize(self.activation),
        }
