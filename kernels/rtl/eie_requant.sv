// eie_requant: ReLU and requantisation of one accumulator into the output type
// (flow.eie.fixed FixedType.cast): optional round-half-up (RND) before an arithmetic right
// shift, then saturation to [omin, omax] (SAT) or two's-complement wrap to `width` bits,
// sign- or zero-extended to XW (WRAP). Combinational; the engine registers its output.
// The saturation compares are made on the value before the shift, against the layer's
// thresholds omin * 2^shift and (omax + 1) * 2^shift (eie_gather registers them per layer):
// floor(x / 2^s) < omin iff x < omin * 2^s, and floor(x / 2^s) > omax iff x >= (omax + 1) * 2^s,
// so the compares run beside the shift, not after it (issue 21's timing levers; same bits).
// No add in front of the shift and the compares (the P = 16 critical path of 0435171: the
// rounding term 2^(s-1) -> add -> shift / compares): with x1 = x0 + 2^(s-1) (the rounded sum,
// exact when 1 <= s <= ACCW: no overflow of ACCW + 1 bits),
//   x1 < t iff x0 < t - 2^(s-1), so the compares take the thresholds minus the rounding term
//   (the gather registers them so), and
//   floor(x1 / 2^s) = floor((floor(2 x0 / 2^s) + 1) / 2): the shift first (by s, of 2 x0), then
//   an increment of its low XW + 1 bits (rnd), then one bit to the right.
// At s = ACCW + 1 the rounding term 2^ACCW wraps the (ACCW + 1)-bit sum x0 + 2^ACCW: it is x0
// with its top bit inverted (flip); at s > ACCW + 1 the term is 0 (it leaves ACCW + 1 bits).
`default_nettype none
module eie_requant #(
    // accumulator bits
    parameter ACCW = 32,
    // activation bits
    parameter XW = 16
) (
    input  logic [ACCW-1:0] v,
    input  logic            relu,
    // round half up at 1 <= shift <= ACCW (add 2^(shift-1)): rnd; round at shift = ACCW + 1:
    // flip (the engine decodes both once for all lanes)
    input  logic            rnd,
    input  logic            flip,
    input  logic            sat,
    input  logic            sgn,
    input  logic [     5:0] shift,
    input  logic [     5:0] width,
    input  logic [  XW-1:0] omin,
    input  logic [  XW-1:0] omax,
    // omin * 2^shift and (omax + 1) * 2^shift, clamped to [-2^ACCW, 2^ACCW], minus the rounding
    // term 2^(shift-1) when rnd
    input  logic [ACCW+1:0] tlo,
    input  logic [ACCW+1:0] thi,
    output logic [  XW-1:0] out
);
  localparam SW = (XW > 1) ? $clog2(XW) : 1;
  logic signed [ACCW:0] x0, xf;
  logic signed [ACCW+1:0] xs;
  // only the low XW + 1 bits of the shifted value and the increment's bits above its first
  /* verilator lint_off UNUSEDSIGNAL */
  logic signed [ACCW+1:0] y;
  logic [XW:0] z;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [XW-1:0] x2;
  logic [SW-1:0] wi;
  always_comb begin
    x0 = (relu && v[ACCW-1]) ? '0 : {v[ACCW-1], v};
    // x0 + 2^(s-1) when flip, else x0: the value the compares and the shift take
    xf = {x0[ACCW] ^ flip, x0[ACCW-1:0]};
    xs = {xf[ACCW], xf};
    // floor(2 xf / 2^s); only its low XW + 1 bits make the output
    y = $signed({xf, 1'b0}) >>> shift;
    z = y[XW:0] + {{XW{1'b0}}, rnd};
    x2 = z[XW:1];
    // the sign bit of a `width`-bit wrap: read only when width < XW (index width - 1 < XW - 1)
    wi = SW'(width - 6'd1);
    if (sat) begin
      if (xs < $signed(tlo)) out = omin;
      else if (xs >= $signed(thi)) out = omax;
      else out = x2;
    end else begin
      for (int b = 0; b < XW; b++) begin
        if (b < width) out[b] = x2[b];
        else out[b] = sgn ? x2[wi] : 1'b0;
      end
    end
  end
endmodule
`default_nettype wire
