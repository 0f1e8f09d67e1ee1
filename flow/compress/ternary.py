"""Trained ternary quantization (TTQ; Zhu, Han, Mao, Dally, ICLR 2017) on pruned layers.

A ternary layer keeps full-precision *latent* weights w (trained) and two trained scales W+ and W-
of its own. The kernel the network uses is

    q(w) = +W+  where w >  d and the weight survived pruning,
           -W-  where w < -d and the weight survived pruning,
            0   elsewhere,           with d = t * max|w| (t = compress.ternary_threshold, 0.05)

so the layer stores 2-bit codes: 0 = zero (pruned or below the threshold), 1 = -W-, 2 = +W+ (code 3 is
never used; it repeats +W+), i.e. the codebook {0, -W-, +W+} on the EIE engine. Gradients (the
paper's eq. 7-8, derived here from the chain rule): dL/dW+ = sum of dL/dq over the +W+ positions,
dL/dW- = -sum over the -W- positions; the latent weights get dL/dq scaled by W+ (positive side),
W- (negative side) or 1 (the zero band), and masked by the pruning mask, so pruned weights stay
pruned. Codes are re-derived from the latent weights at every step, so weights can move between
-W-, 0 and +W+ while training; the final codes are fixed at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.compress.train import Shared

#: code of each ternary level (code 0 is the zero, as for every codebook of the flow)
NEG, POS = 1, 2


@dataclass
class Ternary:
    """One ternary layer's trainable state (numpy between training phases)."""

    mask: np.ndarray  # bool, kernel shape: the pruning mask
    latent: np.ndarray  # float32, kernel shape: full-precision latent weights (0 where pruned)
    w_pos: float
    w_neg: float
    threshold: float = 0.05

    @classmethod
    def init(cls, kernel: np.ndarray, mask: np.ndarray, threshold: float = 0.05) -> Ternary:
        """Start from a trained (pruned) kernel; each scale starts at the mean |w| of its side."""
        latent = (np.asarray(kernel, np.float32) * mask).astype(np.float32)
        t = cls(mask=np.asarray(mask, bool), latent=latent, w_pos=0.0, w_neg=0.0, threshold=threshold)
        codes = t.codes()
        pos, neg = latent[codes == POS], latent[codes == NEG]
        t.w_pos = float(pos.mean()) if pos.size else float(np.abs(latent).max(initial=0.0))
        t.w_neg = float(-neg.mean()) if neg.size else t.w_pos
        return t

    def delta(self) -> float:
        return self.threshold * float(np.abs(self.latent[self.mask]).max(initial=0.0))

    def codes(self) -> np.ndarray:
        d = self.delta()
        codes = np.zeros(self.latent.shape, dtype=np.int32)
        codes[(self.latent > d) & self.mask] = POS
        codes[(self.latent < -d) & self.mask] = NEG
        return codes

    def codebook(self) -> np.ndarray:
        return np.array([0.0, -self.w_neg, self.w_pos, self.w_pos], dtype=np.float32)

    def kernel(self) -> np.ndarray:
        return self.codebook()[self.codes()]

    def shared(self) -> Shared:
        """The layer as a 2-bit shared layer (codes + codebook) for quantization and storage."""
        return Shared(codes=self.codes(), centroids=self.codebook())

    # -- TensorFlow side, used inside flow.compress.train.fit --------------------------------------
    def variables(self, kernel_var):
        import tensorflow as tf

        name = kernel_var.name.split(":")[0].replace("/", "_")
        return (
            tf.Variable(self.latent, name=f"{name}_latent"),
            tf.Variable(np.float32(self.w_pos), name=f"{name}_wpos"),
            tf.Variable(np.float32(self.w_neg), name=f"{name}_wneg"),
            tf.constant(self.mask.astype(np.float32)),
        )

    def _sides(self, latent, mask):
        import tensorflow as tf

        d = self.threshold * tf.reduce_max(tf.abs(latent * mask))
        pos = tf.cast(latent > d, tf.float32) * mask
        neg = tf.cast(latent < -d, tf.float32) * mask
        return pos, neg

    def kernel_tf(self, latent, w_pos, w_neg, mask):
        pos, neg = self._sides(latent, mask)
        return w_pos * pos - w_neg * neg

    def gradients_tf(self, g, latent, w_pos, w_neg, mask):
        """[dL/dlatent, dL/dW+, dL/dW-] from dL/dkernel `g`."""
        pos, neg = self._sides(latent, mask)
        zero = mask - pos - neg
        g_latent = g * (w_pos * pos + w_neg * neg + zero)
        return [g_latent, sum_all(g * pos), -sum_all(g * neg)]

    def update(self, latent, w_pos, w_neg, mask) -> None:
        self.latent = latent.numpy()
        self.w_pos, self.w_neg = float(w_pos.numpy()), float(w_neg.numpy())


def sum_all(t):
    import tensorflow as tf

    return tf.reduce_sum(t)
