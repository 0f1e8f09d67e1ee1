"""EIEDense: the hls4ml IR node of one Dense(+ReLU) layer on the EIE sparse PE array.

It carries an `EIELayer` (flow.eie.layer) in the attribute `eie_layer`; the kernel lives in
integer ROMs written by the EIE writer, so the node has no hls4ml weight variables (and hence
no ap_fixed weight arrays in the generated code).
"""

from __future__ import annotations

from hls4ml.model.attributes import Attribute
from hls4ml.model.layers import Layer, layer_map, register_layer

from flow.hls.types import to_hls


class EIEDense(Layer):
    _expected_attributes = (
        Attribute("n_in"),
        Attribute("n_out"),
        Attribute("eie_layer", value_type=object),
    )

    def initialize(self):
        eie = self.get_attr("eie_layer")
        shape = list(self.get_input_variable().shape)
        shape[-1] = eie.n_out
        self.add_output_variable(shape, precision=to_hls(eie.output_t))

    @property
    def eie_layer(self):
        return self.get_attr("eie_layer")


def register_eie_layers() -> None:
    """Make 'EIEDense' known to hls4ml's layer registry (idempotent)."""
    if "EIEDense" not in layer_map:
        register_layer("EIEDense", EIEDense)
