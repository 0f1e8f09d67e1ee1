"""On-board runtime: imports only numpy and (lazily) pynq, never TensorFlow."""
