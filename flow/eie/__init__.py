"""The EIE engine in Python: CSC-per-PE encoding, bit-exact fixed-point reference, performance model."""
