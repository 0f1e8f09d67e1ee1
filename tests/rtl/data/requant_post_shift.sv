// The requantiser as it was before issue 21's threshold lever (kernels/rtl/eie_requant.sv at
// d2fc85b): saturation compares after the shift. The reference of test_rtl_requant_thresholds.py.
`default_nettype none
module rq_post_shift #(
    // accumulator bits
    parameter ACCW = 32,
    // activation bits
    parameter XW = 16
) (
    input  logic [ACCW-1:0] v,
    input  logic            relu,
    // rounding term: 2**(shift-1) for round-half-up, else 0 (the engine computes it once for
    // all lanes)
    input  logic [  ACCW:0] half,
    input  logic            sat,
    input  logic            sgn,
    input  logic [     5:0] shift,
    input  logic [     5:0] width,
    input  logic [  XW-1:0] omin,
    input  logic [  XW-1:0] omax,
    output logic [  XW-1:0] out
);
  logic signed [ACCW:0] x0, x1, x2, lo, hi;
  always_comb begin
    x0 = (relu && v[ACCW-1]) ? '0 : {v[ACCW-1], v};
    x1 = x0 + half;
    x2 = x1 >>> shift;
    lo = {{(ACCW + 1 - XW) {omin[XW-1]}}, omin};
    hi = {{(ACCW + 1 - XW) {omax[XW-1]}}, omax};
    if (sat) begin
      if (x2 < lo) out = omin;
      else if (x2 > hi) out = omax;
      else out = x2[XW-1:0];
    end else begin
      for (int b = 0; b < XW; b++) begin
        if (b < width) out[b] = x2[b];
        else out[b] = sgn ? x2[width-6'd1] : 1'b0;
      end
    end
  end
endmodule
`default_nettype wire
