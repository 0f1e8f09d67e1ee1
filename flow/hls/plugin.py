"""hls4ml plugin entry point (`hls4ml.backends: EIE = flow.hls.plugin:register`).

hls4ml calls `register` while it imports its backends and prints (rather than raises) any error,
so `ensure_registered()` is also called by flow's own entry points (convert, csim): it registers
the backend if the entry point did not (e.g. an uninstalled source tree) and is idempotent.
"""

from __future__ import annotations

BACKEND_NAME = "EIE"


def register(*, register_backend, register_writer) -> None:
    """Register the EIE writer and the EIE backend with hls4ml (Dense nodes on EIE stay hls4ml's
    Dense class, so there is no layer class to register)."""
    from hls4ml.backends.backend import backend_map
    from hls4ml.writer.writers import writer_map

    from flow.hls.writer import EIEWriter

    if BACKEND_NAME not in writer_map:
        register_writer(BACKEND_NAME, EIEWriter)
    if BACKEND_NAME.lower() not in backend_map:
        from flow.hls.backend import EIEBackend

        register_backend(BACKEND_NAME, EIEBackend)


def ensure_registered():
    """The registered EIEBackend instance (registering it now if the entry point did not)."""
    import hls4ml  # noqa: F401  (loads the entry-point plugins)
    from hls4ml.backends.backend import get_backend, register_backend
    from hls4ml.writer.writers import register_writer

    register(register_backend=register_backend, register_writer=register_writer)
    return get_backend(BACKEND_NAME)
