"""The RTL engine as a PYNQ overlay: register map outputs (gen), board presets (sizing), and
model images (image: `model.eie` from EIE layers). The driver side lives in flow.runtime."""
