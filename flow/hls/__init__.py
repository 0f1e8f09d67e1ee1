"""hls4ml backend 'EIE': Dense layers become EIEDense on the sparse PE array; the rest stays hls4ml's."""

# hls4ml first: its import runs the plugin loader (entry point flow.hls.plugin:register), which
# imports flow.hls.backend/writer/layer. Were a flow.hls submodule imported before hls4ml, the
# loader would meet that module half-initialised and skip the backend (it only prints a warning).
try:
    import hls4ml  # noqa: F401
except ImportError:  # a board install without hls4ml: flow.hls.config still works
    pass
