"""Shared neural-network pieces, written once: dilated causal stacks, masked losses, NumPy runtime.

Importing :mod:`midistyle.nn.numpy_runtime` does not import TensorFlow; the Keras builders in
:mod:`midistyle.nn.layers` and :mod:`midistyle.nn.losses` do.
"""
