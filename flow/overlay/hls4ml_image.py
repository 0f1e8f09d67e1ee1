"""model.eie from an hls4ml model converted with backend="EIE": hls4ml users reach the RTL overlay.

An hls4ml user has a ModelGraph, not a `flow compress` folder. Its Dense nodes on EIE carry their
EIELayer (flow.hls.layer), which is all the image needs; a final softmax (a Softmax node, or a
softmax Activation) runs on the host, as the overlay's driver does it, and any other compute layer
is refused, since the overlay runs only EIE Dense layers.
"""

from __future__ import annotations

from pathlib import Path

from flow.errors import UsageError


def _is_softmax(node) -> bool:
    if node.class_name == "Softmax":
        return True
    return node.class_name == "Activation" and str(node.get_attr("activation", "")).lower() == "softmax"


def write_overlay_image(hls_model, path, board: str = "pynq-z2", pe: int | None = None) -> dict:
    """Write model.eie for `board`'s overlay preset with `pe` PEs (default: the model's n_pe), checked
    against the preset before anything is written; returns its size and word counts.

        hls_model = hls4ml.converters.convert_from_keras_model(model, backend="EIE", ...)
        write_overlay_image(hls_model, "model.eie")          # then EIEOverlay(bundle).load("model.eie")
    """
    from flow.hls.csim import graph_of, reference_covers
    from flow.hls.layer import eie_nodes
    from flow.overlay.image import write_for_board

    graph = graph_of(hls_model)
    nodes = list(graph.get_layers())
    softmax = bool(nodes) and _is_softmax(nodes[-1])
    body = nodes[:-1] if softmax else nodes

    class _One:  # reference_covers of one node
        def __init__(self, n):
            self.n = n

        def get_layers(self):
            return [self.n]

    bad = [n for n in body if not reference_covers(_One(n))]
    if bad:
        what = ", ".join(f"{n.name}: {n.class_name}" for n in bad)
        casts = [n for n in bad if n.get_attr("eie_fused_into")]
        fix = (f"; {casts[0].name} casts the Dense result to another type: set the Dense layer's result precision "
               "to its activation's (config['LayerName'][<dense>]['Precision']['result'])" if casts else "")
        raise UsageError(f"the hls4ml model has layers the RTL overlay does not run ({what}){fix}; keep it on "
                         "the HLS kernel (hls_model.build) or convert only its Dense part")
    layers = [n.get_attr("eie_layer") for n in eie_nodes(graph)]
    return write_for_board(layers, Path(path), board, pe, softmax=softmax, what="the hls4ml model")
