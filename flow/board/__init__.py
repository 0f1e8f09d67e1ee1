"""The board: board specs (boards/<name>/board.yaml), the AXI IP top and its testbench, the vendor
TCL and tool runs, and the resource estimate that refuses a design that does not fit."""
