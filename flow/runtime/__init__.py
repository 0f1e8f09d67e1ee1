"""On-board runtime: imports only numpy and (lazily) pynq, never TensorFlow.

    from flow.runtime import EIEOverlay
    ol = EIEOverlay("bundle/")            # on a PYNQ board
    y = ol.predict(X)                     # floats in, floats out (softmax if the bundle says so)

The simulated board runs the same driver against the C simulation of the IP:
    from flow.runtime.sim import sim_overlay
    ol = sim_overlay("bundle/")           # EIEOverlay(bundle, device=SimDevice(bundle))
"""

from flow.runtime.bundle import BundleError, BundleMeta, DMASpec, IOSpec, write_bundle
from flow.runtime.overlay import DeviceTimeout, EIEOverlay

__all__ = ["BundleError", "BundleMeta", "DMASpec", "DeviceTimeout", "EIEOverlay", "IOSpec", "write_bundle"]
