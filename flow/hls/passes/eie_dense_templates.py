"""Templates of a Dense node mapped to EIE: its config struct and function call (flow.eie.codegen).

They match hls4ml's Dense class with an `eie_layer` attribute (flow.hls.layer.is_eie_node) and run
after Vivado's templates (flow 'eie:apply_templates' after 'vivado:apply_templates'), so the node's
config_cpp, function_cpp and include_header are the EIE kernel's. The ROM arrays the call refers to (`eie_entries<suffix>` ...) are written by the EIE writer into
firmware/weights/eie<suffix>.h, which the function template adds to the layer's include list.
"""

from __future__ import annotations

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from hls4ml.model.layers import Dense

from flow.hls.layer import is_eie_node

KERNEL_HEADER = "eie_dense.h"


def rom_suffix(node) -> str:
    """Suffix of a layer's ROM arrays and header: its hls4ml index (unique in the model)."""
    return str(node.index)


def rom_header_name(node) -> str:
    """Path of the layer's ROM header relative to firmware/."""
    return f"weights/eie{rom_suffix(node)}.h"


class EIEDenseConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(Dense)
        self.name = "eie_dense_config_template"  # not Vivado's 'dense_config_template' (same backend registry)

    def match(self, node):
        return super().match(node) and is_eie_node(node)

    def format(self, node):
        from flow.eie import codegen

        return codegen.config_struct(node.get_attr("eie_layer"), f"config{node.index}")


class EIEDenseFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(Dense, include_header=(KERNEL_HEADER,))
        self.name = "eie_dense_function_template"

    def match(self, node):
        return super().match(node) and is_eie_node(node)

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
