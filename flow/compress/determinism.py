"""Run-to-run determinism of `flow compress`: seeds, TensorFlow op determinism, fixed thread pools.

What repeats bit for bit: two runs of one config with one seed, on one machine (the same CPU and
instruction set, the same TensorFlow build), with the same thread counts. Every random choice is
seeded from `seed` (initialisation: Keras' initialisers after `tf.keras.utils.set_random_seed`;
minibatch order and augmentation shifts: numpy generators per phase, flow.compress.train), and
`tf.config.experimental.enable_op_determinism()` forbids TensorFlow ops whose results depend on
scheduling. What does not: another CPU (oneDNN and Eigen pick kernels per instruction set, so
reductions add in another order) or another intra-op thread count (reductions are split per
thread). bench/determinism.py measures how far those move a result (README, "Reproducibility").

Thread pools are fixed before TensorFlow starts: intra-op threads from TF_NUM_INTRAOP_THREADS
(default 2), inter-op threads from TF_NUM_INTEROP_THREADS (default 1), so the default does not
depend on the machine's core count. A process that already ran TensorFlow keeps its pools (they
cannot change after start-up); `settings()` reports the ones in effect. FLOW_OP_DETERMINISM=0
leaves op determinism off (the determinism study measures its cost).
"""

from __future__ import annotations

import logging
import os

from flow.errors import ConfigError

log = logging.getLogger(__name__)

INTRA_ENV, INTER_ENV = "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"
DEFAULT_INTRA, DEFAULT_INTER = 2, 1
OP_DETERMINISM_ENV = "FLOW_OP_DETERMINISM"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be a whole number of threads >= 1; unset it for {default}")
    return value


def threads() -> tuple[int, int]:
    """(intra-op, inter-op) thread counts asked for by the environment (or the defaults)."""
    return _env_int(INTRA_ENV, DEFAULT_INTRA), _env_int(INTER_ENV, DEFAULT_INTER)


def op_determinism_wanted() -> bool:
    return os.environ.get(OP_DETERMINISM_ENV, "1").strip() not in ("0", "false", "no", "off")


def configure(seed: int) -> dict:
    """Seed every generator, pin the thread pools (if TensorFlow has not started) and turn op
    determinism on; returns `settings()`."""
    import tensorflow as tf

    intra, inter = threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # TensorFlow already ran ops in this process: its pools stay
        log.info("TensorFlow already started in this process: its thread pools are kept")
    tf.keras.utils.set_random_seed(seed)
    if op_determinism_wanted():
        tf.config.experimental.enable_op_determinism()
    return settings()


def settings() -> dict:
    """The settings a result depends on besides the config (report.json "determinism")."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # no public getter in TF 2.14

    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "op_determinism": bool(tf_config.is_op_determinism_enabled()),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "tensorflow": tf.__version__,
    }
