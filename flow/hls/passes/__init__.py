"""Optimizer passes of the EIE backend, one per file (loaded by hls4ml's backend machinery)."""
