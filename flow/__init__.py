"""eie-flow: Deep Compression and an EIE-style sparse engine, from Keras to a PYNQ board.

Importing `flow` is cheap: TensorFlow, hls4ml and pynq load only in the modules that need them,
so `flow.runtime` works on a board that has only numpy and pynq.
"""

__version__ = "0.1.0"
