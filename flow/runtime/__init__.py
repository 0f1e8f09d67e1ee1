"""On-board runtime: imports only numpy and (lazily) pynq, never TensorFlow.

    from flow.runtime import EIEOverlay
    ol = EIEOverlay("bundle/")            # on a PYNQ board
    y = ol.predict(X)                     # floats in, floats out (softmax if the bundle says so)

The RTL overlay (a bundle with overlay.json, docs/overlay.md) loads models at run time:
    ol = EIEOverlay("overlay_bundle/"); ol.load("model.eie"); y = ol.predict(X)

The simulated board runs the same driver against the C simulation of the IP, or for an overlay
bundle against Verilator's model of the overlay's RTL (flow.runtime.sim_rtl.RTLSimDevice):
    from flow.runtime.sim import sim_overlay
    ol = sim_overlay("bundle/")           # EIEOverlay(bundle, device=SimDevice(bundle) or RTLSimDevice(bundle))
"""

from flow.runtime.bundle import BundleError, BundleMeta, DMASpec, IOSpec, write_bundle
from flow.runtime.eie_image import ImageError, read_image
from flow.runtime.overlay import DeviceTimeout, EIEOverlay
from flow.runtime.rtl_overlay import EIERTLOverlay, OverlayTimeout

__all__ = ["BundleError", "BundleMeta", "DMASpec", "DeviceTimeout", "EIEOverlay", "EIERTLOverlay", "IOSpec",
           "ImageError", "OverlayTimeout", "read_image", "write_bundle"]
