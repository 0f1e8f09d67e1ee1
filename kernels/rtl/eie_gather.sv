// eie_gather: the gather datapath, from the PEs' terms to the layer's outputs.
//
// Each PE's term (acc + bias of the chunk's row, or 0 when it is not selected) arrives one
// cycle after the issue. Stage 2 sums the PEs p == l (mod OL) into OL lanes and makes the first
// levels of the fold, stage 3 makes the rest of the fold to E = 2**log2e lanes, stage 4 requantises every lane (eie_requant), stage 5
// writes the chunk's E outputs at rows g_i0 .. g_i0 + E - 1 (those < n_out) to the store, and
// for the last layer to the output port.
`default_nettype none
module eie_gather #(
    // processing elements
    parameter P = 16,
    // gather lanes (power of two, <= 16, <= P)
    parameter OL = 16,
    // accumulator bits
    parameter ACCW = 32,
    // activation bits
    parameter XW = 16,
    // activations the store holds
    parameter NX = 1024,
    localparam NXW = $clog2(NX + 1),
    localparam NLINES = NX / 16,
    localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    localparam LOL = (OL > 1) ? $clog2(OL) : 0
) (
    input  logic             clk,
    // the PEs' terms
    input  logic [P*ACCW-1:0] pe_term,
    // the layer's requantisation and size, log2 of the chunk's rows E
    input  logic             relu,
    input  logic             rnd,
    input  logic             sat,
    input  logic             sgn,
    input  logic             last,
    input  logic [      5:0] shift,
    input  logic [      5:0] width,
    input  logic [   XW-1:0] omin,
    input  logic [   XW-1:0] omax,
    input  logic [  NXW-1:0] n_out,
    input  logic [      2:0] log2e,
    // stage 5: valid and the chunk's first output row
    input  logic             g_valid,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [    NXW:0] g_i0,  // its line bits (the mask is registered from g_i0_nx)
    /* verilator lint_on UNUSEDSIGNAL */
    // the values g_valid and g_i0 take at this edge (eie_control: stage 4's)
    input  logic             g_valid_nx,
    input  logic [    NXW:0] g_i0_nx,
    // store write (the words of g_mask in line g_line)
    output logic [     15:0] g_mask,
    output logic [   LA-1:0] g_line,
    output logic [16*XW-1:0] g_data,
    // which words of g_data are non-zero (for the store's bitmap and the detectors' windows)
    output logic [     15:0] g_nz,
    // output port (last layer)
    output logic             out_valid,
    output logic [   LA-1:0] out_line,
    output logic [     15:0] out_mask,
    output logic [16*XW-1:0] out_data
);
  localparam NT = 2 * OL - 1;
  // the adder levels are split between stages 2 and 3 so that neither holds all of them: stage
  // 2 sums the P / OL terms of each lane (a balanced tree of LK levels) and the first H levels
  // of the fold, and registers every level it made; stage 3 makes the other LOL - H levels and
  // selects the level of E lanes (before: LK levels, then all LOL, e.g. 0 + 4 at P = 16)
  localparam NK = (P + OL - 1) / OL;
  localparam LK = (NK > 1) ? $clog2(NK) : 0;
  localparam H = (LOL > LK) ? (LOL - LK) / 2 : 0;
  // entries of tree levels 0 .. H (level m holds OL >> m sums, at 2 OL - (2 OL >> m))
  localparam NH = 2 * OL - (2 * OL >> (H + 1));
  // rounding term of all lanes: 2**(shift-1) when rounding, else 0
  // the layer's fields change only at SETUP and the gather starts two cycles after it at the
  // earliest (a RUN cycle between), so the requantisers and the fold's level select take
  // registered copies (a cycle late): no net from the table register fans out into them, and
  // the rounding is decoded a cycle ahead (issue 21's timing levers)
  logic [ACCW:0] half_n;
  logic rnd_r, flip_r, relu_r, sat_r, sgn_r;
  logic [5:0] shift_r, width_r;
  logic [XW-1:0] omin_r, omax_r;
  logic [2:0] lvl_r;
  assign half_n = (rnd && shift != 6'd0) ? ({{ACCW{1'b0}}, 1'b1} << (shift - 6'd1)) : '0;
  always_ff @(posedge clk) begin
    // the requantisers' rounding (eie_requant): the term 2^(shift-1) at 1 <= shift <= ACCW
    // (rnd_r), or the 2^ACCW that wraps the (ACCW + 1)-bit sum at shift = ACCW + 1 (flip_r);
    // no term at a larger shift (it leaves ACCW + 1 bits)
    rnd_r <= |half_n[ACCW-1:0];
    flip_r <= half_n[ACCW];
    relu_r <= relu;
    sat_r <= sat;
    sgn_r <= sgn;
    shift_r <= shift;
    width_r <= width;
    omin_r <= omin;
    omax_r <= omax;
    lvl_r <= lvl;
  end
  // the saturation thresholds omin * 2^shift and (omax + 1) * 2^shift (eie_requant) minus the
  // rounding term 2^(shift-1) when rnd_r (the requantisers compare the lane before its rounding
  // add), clamped to [-2^ACCW, 2^ACCW] (the range that decides a compare with an (ACCW + 1)-bit
  // value). A shift above ACCW + 1 is taken as ACCW + 1: it gives the same clamped value. The
  // term is taken off before the shift, at twice the scale: (2 omin - rnd) * 2^shift / 2 (exact:
  // rnd only at shift >= 1), so no subtraction follows the shift. Two register steps from the
  // registered copies: the shift amount and the (XW + 2)-bit values before the shift (t_sh,
  // lo_n, hi_n: the clamp of the shift and the adds leave the shift -> compare path, and the
  // copy shift_r's fanout into every lane), then the thresholds; the requantisers first use them
  // in the gather's stage 4, at least three cycles after the copies are set (RUN, issue, stages
  // 1-3), and they are set two cycles after the copies.
  localparam TW = ACCW + XW + 3;
  localparam logic signed [TW-1:0] TMAX = TW'(1) <<< ACCW;
  localparam logic signed [ACCW+1:0] TMAXS = (ACCW + 2)'(1) <<< ACCW;
  logic [5:0] t_sh;
  logic signed [XW+1:0] lo_n, hi_n;
  logic signed [TW-1:0] lo_w, hi_w, lo_sh, hi_sh, lo_h, hi_h;
  logic [ACCW+1:0] tlo_h, thi_h;
  always_ff @(posedge clk) begin
    t_sh <= (shift_r > 6'(ACCW + 1)) ? 6'(ACCW + 1) : shift_r;
    lo_n <= {omin_r[XW-1], omin_r, 1'b0} - (XW + 2)'(rnd_r);
    hi_n <= {omax_r[XW-1], omax_r, 1'b0} + (rnd_r ? (XW + 2)'(1) : (XW + 2)'(2));
  end
  assign lo_w = {{(TW - XW - 2) {lo_n[XW+1]}}, lo_n};
  assign hi_w = {{(TW - XW - 2) {hi_n[XW+1]}}, hi_n};
  assign lo_sh = lo_w <<< t_sh;
  assign hi_sh = hi_w <<< t_sh;
  assign lo_h = lo_sh >>> 1;
  assign hi_h = hi_sh >>> 1;
  always_ff @(posedge clk) begin
    tlo_h <= (lo_h < -TMAX) ? -TMAXS : (lo_h > TMAX) ? TMAXS : lo_h[ACCW+1:0];
    thi_h <= (hi_h < -TMAX) ? -TMAXS : (hi_h > TMAX) ? TMAXS : hi_h[ACCW+1:0];
  end
  logic [ACCW-1:0] tree_n[0:NT-1];
  logic [ACCW-1:0] tree[0:NT-1];
  logic [ACCW-1:0] h_reg[0:NH-1];
  logic [ACCW-1:0] lane_reg[0:OL-1];
  logic [XW-1:0] out_reg[0:OL-1];
  logic [OL-1:0] out_nz;  // out_reg[l] != 0
  logic [XW-1:0] rq[0:OL-1];
  logic [ACCW-1:0] kt[0:OL*(1 << LK)-1];
  logic [ACCW-1:0] lane_n[0:OL-1];
  logic [2:0] lvl;
  assign lvl = 3'(LOL) - log2e;

  always_comb begin
    // stage 2: lane l's terms l + k OL by a balanced tree, then fold levels 1 .. H
    for (int i = 0; i < NT; i++) tree_n[i] = '0;
    for (int l = 0; l < OL; l++) begin
      for (int k = 0; k < (1 << LK); k++) begin
        kt[l*(1<<LK)+k] = (l + k * OL < P) ? pe_term[(l+k*OL)*ACCW+:ACCW] : '0;
      end
      for (int m = 1; m <= LK; m++) begin
        for (int k = 0; k < ((1 << LK) >> m); k++) begin
          kt[l*(1<<LK)+k] = kt[l*(1<<LK)+2*k] + kt[l*(1<<LK)+2*k+1];
        end
      end
      tree_n[l] = kt[l*(1<<LK)];
    end
    for (int m = 1; m <= H; m++) begin
      for (int l = 0; l < (OL >> m); l++) begin
        tree_n[2*OL-(2*OL>>m)+l] = tree_n[2*OL-(2*OL>>(m-1))+l] + tree_n[2*OL-(2*OL>>(m-1))+l+(OL>>m)];
      end
    end
    // stage 3: levels 0 .. H from the registers, H + 1 .. LOL from level H
    for (int i = 0; i < NT; i++) tree[i] = (i < NH) ? h_reg[i] : '0;
    for (int m = H + 1; m <= LOL; m++) begin
      for (int l = 0; l < (OL >> m); l++) begin
        tree[2*OL-(2*OL>>m)+l] = tree[2*OL-(2*OL>>(m-1))+l] + tree[2*OL-(2*OL>>(m-1))+l+(OL>>m)];
      end
    end
    for (int l = 0; l < OL; l++) begin
      lane_n[l] = '0;
      for (int m = 0; m <= LOL; m++) begin
        if (lvl_r == 3'(m) && l < (OL >> m)) lane_n[l] = tree[2*OL-(2*OL>>m)+l];
      end
    end
  end

  genvar b;
  generate
    for (b = 0; b < OL; b = b + 1) begin : g_rq
      eie_requant #(.ACCW(ACCW), .XW(XW)) u_rq (
          .v(lane_reg[b]), .relu(1'b0), .rnd(rnd_r), .flip(flip_r), .sat(sat_r), .sgn(sgn_r),
          .shift(shift_r), .width(width_r), .omin(omin_r), .omax(omax_r), .tlo(tlo_h), .thi(thi_h),
          .out(rq[b]));
    end
  endgenerate

  always_ff @(posedge clk) begin
    for (int i = 0; i < NH; i++) h_reg[i] <= tree_n[i];
    for (int l = 0; l < OL; l++) begin
      // ReLU at the end of stage 3 (max(v, 0) is what the requantiser's ReLU would take): the
      // layer's relu flag meets the lane's sign bit here, not at the start of the requantiser's
      // add, shift and compares (the P = 16 critical path of issue 21: relu_r's fanout)
      lane_reg[l] <= (relu_r && lane_n[l][ACCW-1]) ? '0 : lane_n[l];
      out_reg[l] <= rq[l];
    end
  end

  // stage 5's write mask is registered from stage 4's valid and first row (g_valid_nx, g_i0_nx;
  // the layer's n_out and log2e are held over the whole gather), and the words' non-zero flags
  // are the lanes' (out_reg[l] != 0) selected by log2e, not the selected words' OR trees: the
  // store's bitmap and the detectors' window registers (which merge this write, 8 x 64 bits) do
  // not wait for the compare with n_out and the wide lane select (the routed path of d9ea4a8:
  // log2e -> select -> win). Same bits. (A flip-flop for the flags beside out_reg put their OR
  // tree after the requantiser: 61.15 MHz, its path shift -> out_nz.)
  logic [3:0] e_mask;
  logic [15:0] g_mask_q;
  assign e_mask = (4'd1 << log2e) - 4'd1;
  always_ff @(posedge clk) begin
    for (int i = 0; i < 16; i++) begin
      g_mask_q[i] <= g_valid_nx && ((4'(i) & ~e_mask) == g_i0_nx[3:0]) &&
                     ({g_i0_nx[NXW:4], 4'(i)} < {1'b0, n_out});
    end
  end
  assign g_mask = g_mask_q;
  always_comb begin
    for (int l = 0; l < OL; l++) out_nz[l] = out_reg[l] != '0;
    for (int i = 0; i < 16; i++) begin
      /* verilator lint_off WIDTH */
      g_data[i*XW+:XW] = out_reg[4'(i) & e_mask];  // OL = 1: index 0
      g_nz[i] = out_nz[4'(i) & e_mask];
      /* verilator lint_on WIDTH */
    end
  end
  assign g_line = g_i0[LA+3:4];

  assign out_valid = g_valid && last && (|g_mask);
  assign out_line = g_line;
  assign out_mask = g_mask;
  assign out_data = g_data;
endmodule
`default_nettype wire
