"""Templates of EIEDense: its config struct and its function call, both from flow.eie.codegen.

The ROM arrays the call refers to (`eie_entries<suffix>` ...) are written by the EIE writer into
firmware/weights/eie<suffix>.h, which the function template adds to the layer's include list.
"""

from __future__ import annotations

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from flow.hls.layer import EIEDense

KERNEL_HEADER = "eie_dense.h"


def rom_suffix(node) -> str:
    """Suffix of a layer's ROM arrays and header: its hls4ml index (unique in the model)."""
    return str(node.index)


def rom_header_name(node) -> str:
    """Path of the layer's ROM header relative to firmware/."""
    return f"weights/eie{rom_suffix(node)}.h"


class EIEDenseConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(EIEDense)

    def format(self, node):
        from flow.eie import codegen

        return codegen.config_struct(node.get_attr("eie_layer"), f"config{node.index}")


class EIEDenseFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(EIEDense, include_header=(KERNEL_HEADER,))

    def format(self, node):
        from flow.eie import codegen

        return codegen.function_call(
            node.get_attr("eie_layer"),
            rom_suffix(node),
            node.get_input_variable().name,
            node.get_output_variable().name,
            node.get_input_variable().type.name,
            node.get_output_variable().type.name,
            f"config{node.index}",
            stream=node.model.config.get_config_value("IOType") == "io_stream",
        )

    def transform(self, model, node):
        super().transform(model, node)
        node.set_attr("include_header", [KERNEL_HEADER, rom_header_name(node)])
        return False
