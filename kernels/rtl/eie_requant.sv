// eie_requant: ReLU and requantisation of one accumulator into the output type
// (flow.eie.fixed FixedType.cast): optional round-half-up (RND) before an arithmetic right
// shift, then saturation to [omin, omax] (SAT) or two's-complement wrap to `width` bits,
// sign- or zero-extended to XW (WRAP). Combinational; the engine registers its output.
// The saturation compares are made on the value before the shift, against the layer's
// thresholds omin * 2^shift and (omax + 1) * 2^shift (eie_gather registers them per layer):
// floor(x / 2^s) < omin iff x < omin * 2^s, and floor(x / 2^s) > omax iff x >= (omax + 1) * 2^s,
// so the compares run beside the shift, not after it (issue 21's timing levers; same bits).
`default_nettype none
module eie_requant #(
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
    // omin * 2^shift and (omax + 1) * 2^shift, clamped to [-2^ACCW, 2^ACCW]
    input  logic [ACCW+1:0] tlo,
    input  logic [ACCW+1:0] thi,
    output logic [  XW-1:0] out
);
  logic signed [ACCW:0] x0, x1, x2;
  logic signed [ACCW+1:0] xs;
  always_comb begin
    x0 = (relu && v[ACCW-1]) ? '0 : {v[ACCW-1], v};
    x1 = x0 + half;
    x2 = x1 >>> shift;
    xs = {x1[ACCW], x1};
    if (sat) begin
      if (xs < $signed(tlo)) out = omin;
      else if (xs >= $signed(thi)) out = omax;
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
