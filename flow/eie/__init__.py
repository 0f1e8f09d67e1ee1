"""The EIE engine in Python: CSC-per-PE encoding, bit-exact fixed-point reference, performance model.

numpy only (no TensorFlow): importable on the board.
"""

from flow.eie.encode import Encoding, PEData, decode, encode
from flow.fixed import FixedType
from flow.eie.layer import EIELayer

__all__ = ["EIELayer", "Encoding", "FixedType", "PEData", "decode", "encode"]
