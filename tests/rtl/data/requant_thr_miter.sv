// Miter of test_rtl_requant_thresholds.py: eie_requant with the thresholds eie_gather computes
// (the same expressions, here combinational: the gather registers them in two steps) against
// the post-shift reference (requant_post_shift.sv); ok is 1 when both outputs agree.
`default_nettype none
module requant_thr_miter #(
    parameter ACCW = 13,
    parameter XW = 8
) (
    input  logic [ACCW-1:0] v,
    input  logic            relu,
    input  logic [  ACCW:0] half,
    input  logic            sat,
    input  logic            sgn,
    input  logic [     5:0] shift,
    input  logic [     5:0] width,
    input  logic [  XW-1:0] omin,
    input  logic [  XW-1:0] omax,
    output logic            ok
);
  localparam TW = ACCW + XW + 2;
  localparam logic signed [TW-1:0] TMAX = TW'(1) <<< ACCW;
  localparam logic signed [ACCW+1:0] TMAXS = (ACCW + 2)'(1) <<< ACCW;
  logic [5:0] t_sh;
  logic signed [TW-1:0] lo_w, hi_w, lo_sh, hi_sh;
  logic [ACCW+1:0] tlo, thi;
  logic [XW-1:0] o_ref, o_new;
  assign t_sh = (shift > 6'(ACCW + 1)) ? 6'(ACCW + 1) : shift;
  assign lo_w = {{(TW - XW) {omin[XW-1]}}, omin};
  assign hi_w = {{(TW - XW) {omax[XW-1]}}, omax} + TW'(1);
  assign lo_sh = lo_w <<< t_sh;
  assign hi_sh = hi_w <<< t_sh;
  assign tlo = (lo_sh < -TMAX) ? -TMAXS : (lo_sh > TMAX) ? TMAXS : lo_sh[ACCW+1:0];
  assign thi = (hi_sh < -TMAX) ? -TMAXS : (hi_sh > TMAX) ? TMAXS : hi_sh[ACCW+1:0];
  rq_post_shift #(.ACCW(ACCW), .XW(XW)) u_ref (
      .v(v), .relu(relu), .half(half), .sat(sat), .sgn(sgn), .shift(shift), .width(width),
      .omin(omin), .omax(omax), .out(o_ref));
  eie_requant #(.ACCW(ACCW), .XW(XW)) u_new (
      .v(v), .relu(relu), .half(half), .sat(sat), .sgn(sgn), .shift(shift), .width(width),
      .omin(omin), .omax(omax), .tlo(tlo), .thi(thi), .out(o_new));
  assign ok = o_ref == o_new;
endmodule
`default_nettype wire
