"""hls4ml backend 'EIE' (the plugin only): Dense layers run on the sparse PE array (they stay
hls4ml's Dense nodes with an `eie_layer` attribute, flow.hls.layer); the rest stays hls4ml's.

Public API (what the build and the CLI call):
- `flow.hls.convert.convert(compressed, hls_cfg, output_dir, calib_x=None, *, layer_types=None,
  layer_knobs=None) -> Converted` (`.graph` the ModelGraph, `.eie_layers`, `.keras_twin` (float hardware
  twin, logits), `.input_t`); io_parallel, every precision explicit, the final softmax dropped.
- `flow.hls.csim.compile_model(hls_model) -> seconds`, `predict(hls_model, x) -> float64 (n, n_out)`,
  `predict_raw(hls_model, x_raw) -> int64 (n, n_out)`,
  `check_agreement(hls_model, keras_model, x, eie_layers, *, min_agreement=0.99, raise_on_failure=True)`.
- `hls4ml.converters.convert_from_keras_model(model, backend='EIE', ...)` for direct hls4ml use
  (per-layer knobs in `config['LayerName'][name]['EIE']`, see flow.eie.knobs.EIE_KNOBS).
"""

# hls4ml first: its import runs the plugin loader (entry point flow.hls.plugin:register), which
# imports flow.hls.backend/writer/layer. Were a flow.hls submodule imported before hls4ml, the
# loader would meet that module half-initialised and skip the backend (it only prints a warning).
try:
    import hls4ml  # noqa: F401
except ImportError:  # a board install without hls4ml: flow.config.hls still works
    pass
