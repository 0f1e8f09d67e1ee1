// Miter of test_rtl_requant_thresholds.py: eie_requant with the thresholds and rounding flags
// eie_gather computes (the same expressions, here combinational: the gather registers them in
// three steps) against the post-shift reference (requant_post_shift.sv), which adds the
// gather's rounding term 2^(shift-1) (half_n) before its shift; ok is 1 when both outputs agree.
// A width of 0 is no layer's (flow.fixed.FixedType: width >= 1), and the reference's wrap reads
// bit 63 of its shifted value there (out of range, undefined): left out.
`default_nettype none
module requant_thr_miter #(
    parameter ACCW = 13,
    parameter XW = 8
) (
    input  logic [ACCW-1:0] v,
    input  logic            relu,
    input  logic            rnd,
    input  logic            sat,
    input  logic            sgn,
    input  logic [     5:0] shift,
    input  logic [     5:0] width,
    input  logic [  XW-1:0] omin,
    input  logic [  XW-1:0] omax,
    output logic            ok
);
  localparam TW = ACCW + XW + 3;
  localparam logic signed [TW-1:0] TMAX = TW'(1) <<< ACCW;
  localparam logic signed [ACCW+1:0] TMAXS = (ACCW + 2)'(1) <<< ACCW;
  logic [5:0] t_sh;
  logic signed [XW+1:0] lo_n, hi_n;
  logic signed [TW-1:0] lo_w, hi_w, lo_sh, hi_sh, lo_h, hi_h;
  logic [ACCW+1:0] tlo_h, thi_h;
  logic [ACCW:0] half_n;
  logic rnd_r, flip_r;
  logic [XW-1:0] o_ref, o_new;
  assign half_n = (rnd && shift != 6'd0) ? ({{ACCW{1'b0}}, 1'b1} << (shift - 6'd1)) : '0;
  assign rnd_r = |half_n[ACCW-1:0];
  assign flip_r = half_n[ACCW];
  assign t_sh = (shift > 6'(ACCW + 1)) ? 6'(ACCW + 1) : shift;
  assign lo_n = {omin[XW-1], omin, 1'b0} - (XW + 2)'(rnd_r);
  assign hi_n = {omax[XW-1], omax, 1'b0} + (rnd_r ? (XW + 2)'(1) : (XW + 2)'(2));
  assign lo_w = {{(TW - XW - 2) {lo_n[XW+1]}}, lo_n};
  assign hi_w = {{(TW - XW - 2) {hi_n[XW+1]}}, hi_n};
  assign lo_sh = lo_w <<< t_sh;
  assign hi_sh = hi_w <<< t_sh;
  assign lo_h = lo_sh >>> 1;
  assign hi_h = hi_sh >>> 1;
  assign tlo_h = (lo_h < -TMAX) ? -TMAXS : (lo_h > TMAX) ? TMAXS : lo_h[ACCW+1:0];
  assign thi_h = (hi_h < -TMAX) ? -TMAXS : (hi_h > TMAX) ? TMAXS : hi_h[ACCW+1:0];
  rq_post_shift #(.ACCW(ACCW), .XW(XW)) u_ref (
      .v(v), .relu(relu), .half(half_n), .sat(sat), .sgn(sgn), .shift(shift), .width(width),
      .omin(omin), .omax(omax), .out(o_ref));
  eie_requant #(.ACCW(ACCW), .XW(XW)) u_new (
      .v(v), .relu(relu), .rnd(rnd_r), .flip(flip_r), .sat(sat), .sgn(sgn), .shift(shift),
      .width(width), .omin(omin), .omax(omax), .tlo(tlo_h), .thi(thi_h), .out(o_new));
  assign ok = (o_ref == o_new) || (width == 6'd0);
endmodule
`default_nettype wire
