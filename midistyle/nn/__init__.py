"""Shared neural-network pieces, written once: dilated causal stacks, NumPy runtime.

Importing :mod:`midistyle.nn.numpy_runtime` does not import TensorFlow; the Keras builders in
:mod:`midistyle.nn.layers` do.
"""
