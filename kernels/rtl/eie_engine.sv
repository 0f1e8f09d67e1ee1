// eie_engine: EIE's PE array serving every layer of a network in turn.
//
// Architecture (docs/rtl.md has the full description and the cycle schedule), one module each:
// - eie_layer_table: NL layers x 16 words of 32 bits (sizes, groups, base addresses, modes);
//   the current layer's fields are registered at its SETUP.
// - eie_act_store: the current layer's input vector in 16 banks (column j in bank j % 16 at
//   line j / 16) plus a non-zero bitmap. Layer 0 fills it from the input port (one line of 16
//   activations per cycle); the gather of layer l overwrites it with layer l's outputs, which
//   are layer l+1's inputs.
// - eie_broadcast: one detector per column group (up to MAXG) scans the bitmap 64 columns at a
//   time and broadcasts one non-zero (local column, value) per cycle to the R = P/G PEs of its
//   group, gated so that no queue of the group can overflow; maps each PE to its group.
// - P PEs (eie_pe): queue, pointer pair read, entry walk, codebook, multiply, accumulate.
// - eie_control: the state machine and the gather's issue: per cycle one chunk of E = min(R,
//   OL) rows (ANYR: E = min(OL, the largest power of two dividing R)); every PE reads its
//   accumulator and bias at the chunk's local row.
// - eie_gather: lane sums over the G groups (two adder stages), ReLU and requantisation
//   (eie_requant), then E outputs are written to the store (and, for the last layer, to the
//   output port).
// - eie_lstm (LSTM = 1): the element-wise lanes of a recurrent (LSTM) table entry: the gather's
//   lanes carry gate values into one eie_lstm_cell each, whose h' go to the store as the next
//   time step's input (docs/rtl.md, "Recurrent layers").
// Phases per inference: SETUP (1 cycle, load the layer's table entry) -> RUN (input, detect,
// broadcast, PEs; ends one cycle after everything is idle) -> GATHER (chunks, then a 5-cycle
// drain) -> SETUP of the next layer, or done. OVERLAP = 1: the next layer's SETUP follows the
// gather's last chunk; the drain runs beside it and the next RUN, whose detectors take each
// window once the gather has written its lines (eie_control); the gather's fields are held.
// Memories are initialised from INIT_DIR/*.mem ($readmemh; "" for none) and writable through
// the load port (ld_*), so a model can be replaced at run time.
`default_nettype none
module eie_engine #(
    // processing elements (<= 64; a power of two unless ANYR)
    parameter P = 16,
    // 1: layers may have any PEs per group R (group p / R, row PE p % R from compares against
    // R * k; gather chunks of E = min(OL, largest power of two dividing R)); 0: R is a power
    // of two (shifts and masks, fewer LUTs)
    parameter ANYR = 0,
    // column groups supported (power of two, <= 16)
    parameter MAXG = 8,
    // activation queue capacity per PE (power of two)
    parameter DMAX = 8,
    // layers the table holds
    parameter NL = 4,
    // activations the store holds (multiple of 64): largest layer input or output
    parameter NX = 1024,
    // activation bits
    parameter XW = 16,
    // weight bits
    parameter WW = 8,
    // accumulator bits (> XW + WW)
    parameter ACCW = 32,
    // entry word fields
    parameter CBW = 4,
    parameter IXW = 4,
    // per-PE memory depths
    parameter ENT_D = 1024,
    parameter PTR_D = 512,
    parameter ACC_D = 64,
    parameter BIAS_D = 128,
    // gather lanes (power of two, <= 16, <= P)
    parameter OL = 16,
    // folder of the $readmemh images ("" for none)
    parameter INIT_DIR = "",
    // load-port geometry (eie_pe.sv; 1/1/0: one word a write, the memories as params_for sizes
    // them): entry words per entry-RAM row, pointer rows of 3 pointers (2)
    parameter ENT_L = 1,
    parameter PTR_L = 1,
    // codebook slots per PE (0: one per layer, the slot is the layer index; > 0: the slot is
    // the layer's table field 14, so models may share the table and the codebooks)
    parameter CB_SLOTS = 0,
    // 1: the load port reads back (ld_re, ld_q; eie_pe.sv), for an idle engine
    parameter LD_READ = 0,
    // entries each PE walks per cycle: 1, or 2 (two multipliers per PE; eie_pe.sv)
    parameter WALK = 1,
    // 1: each PE's codebook in LUT RAM whatever its size (eie_pe.sv; the ECP5 flow's choice:
    // stage D's multiply then starts at a flip-flop, not at a DP16KD's clock-to-output)
    parameter CB_LUT = 0,
    // 1: each PE's accumulators and biases in LUT RAM whatever their size (eie_pe.sv; the ECP5
    // flow's choice: stage E's add and the gather's term then start at flip-flops)
    parameter ACC_LUT = 0,
    // 1: the element-wise lanes of a recurrent (LSTM) entry (eie_lstm), with its fixed-point
    // types (flow.rtl.lstm_cell.cell_generics: gate_t fraction bits; cell_t; h_t = the input
    // type) and CELL_D cell states per lane; 0: Dense layers only (no lanes, the flag ignored)
    parameter LSTM = 0,
    parameter CELL_D = 64,
    parameter L_GF = 8,
    parameter L_CLW = 16,
    parameter L_CLF = 8,
    parameter L_C_RND = 1,
    parameter L_C_SAT = 1,
    parameter L_HW = 16,
    parameter L_HF = 8,
    parameter L_H_RND = 1,
    parameter L_H_SAT = 1,
    // 1: a layer's gather drains beside the next layer's SETUP and RUN (issue 21's lever 3;
    // Dense engines only, LSTM = 0); 2: its whole gather runs beside them (the PEs' accumulators
    // ping-pong: twice the accumulator memory); 0: strictly one phase after the other
    parameter OVERLAP = 0,
    // 1: a PE's queue takes only the broadcast columns with entries in it (eie_pe's non-empty
    // bits, one per pointer pair); 0: every column, without the bits
    parameter SKIP = 1,
    // derived
    localparam NXW = $clog2(NX + 1),
    localparam NLINES = NX / 16,
    localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    localparam CW = $clog2(NX),
    localparam LW = (NL > 1) ? $clog2(NL) : 1,
    localparam DW = $clog2(DMAX + 1),
    localparam PA = (PTR_D > 1) ? $clog2(PTR_D) : 1,
    localparam RW = (ACC_D > 1) ? $clog2(ACC_D) : 1,
    localparam BA = (BIAS_D > 1) ? $clog2(BIAS_D) : 1,
    localparam LOL = (OL > 1) ? $clog2(OL) : 0,
    localparam SW = (CB_SLOTS == 0) ? LW : (CB_SLOTS > 1) ? $clog2(CB_SLOTS) : 1
) (
    input  logic             clk,
    input  logic             rst,
    // one inference: start pulse, done pulse after the last output
    input  logic             start,
    // table index of the first layer (sampled with start; 0 for one model at table index 0)
    input  logic [   LW-1:0] start_layer,
    output logic             done,
    output logic [      1:0] state_o,
    output logic [   LW-1:0] layer_o,
    // input: lines of 16 activations, line 0 first
    input  logic             in_valid,
    output logic             in_ready,
    input  logic [16*XW-1:0] in_data,
    // output: positions b of line out_line with out_mask[b] set
    output logic             out_valid,
    output logic [   LA-1:0] out_line,
    output logic [     15:0] out_mask,
    output logic [16*XW-1:0] out_data,
    // loader: sel 0 entries, 1 pointer pairs, 2 codebooks, 3 biases (of PE ld_pe, or of every
    // PE when ld_bcast), 4 table; an entry write is a row of ENT_L words, a pointer write a row
    // of PTR_L == 2 ? three pointers : one pair (eie_pe.sv)
    input  logic             ld_we,
    input  logic             ld_bcast,
    input  logic [      2:0] ld_sel,
    input  logic [      5:0] ld_pe,
    input  logic [     31:0] ld_addr,
    input  logic [     63:0] ld_data,
    // readback (LD_READ): word ld_addr of memory ld_sel (0..3) of PE ld_pe into ld_q the cycle
    // after ld_re; only while the engine is idle
    input  logic             ld_re,
    output logic [     63:0] ld_q
);
  initial begin
    if (P > 64 || (ANYR == 0 && (P & (P - 1)) != 0)) $error("P must be a power of two <= 64 (any with ANYR)");
    if (OL > P || OL > 16) $error("OL must be <= P and <= 16");
    if (NX % 64 != 0) $error("NX must be a multiple of 64");
    if (ACCW <= XW + WW) $error("ACCW must exceed XW + WW");
    if (WALK != 1 && WALK != 2) $error("WALK must be 1 or 2");
    if (OVERLAP > 2) $error("OVERLAP must be 0, 1 or 2");
    if (OVERLAP != 0 && LSTM != 0) $error("OVERLAP needs LSTM = 0 (a recurrent gather does not overlap)");
  end

  // ---------------- layer table ----------------
  logic setup, run;
  logic [LW-1:0] layer;
  logic [NXW-1:0] n_out;
  logic [2:0] log2g, log2r, log2e;
  logic [PA-1:0] ptr_base;
  logic [BA-1:0] bias_base;
  logic [RW:0] rows;
  logic relu, rnd, sat, sgn, last;
  logic [5:0] shift, width;
  logic [XW-1:0] omin, omax;
  logic [DW-1:0] depth;
  logic [6:0] r_val;
  logic [MAXG*10-1:0] rmul;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [7:0] cb_field;  // SW bits of it are the slot (none when CB_SLOTS is 0)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [SW-1:0] cb_slot;
  logic first;
  logic rec_t, rec, first_step, last_step, ew_busy;
  logic [15:0] steps;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NXW-5:0] xl;  // the lanes' (LSTM = 1)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [NXW-1:0] n_det, n_det_nx;
  logic [MAXG*MAXG-1:0] gmask;
  logic [MAXG-1:0] gact;
  logic [NXW-5:0] n_lines, n_lines_nx;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NXW-1:0] n_units;  // the lanes' (LSTM = 1)
  /* verilator lint_on UNUSEDSIGNAL */
  assign rec = (LSTM != 0) && rec_t;
  assign log2e = (log2r > 3'(LOL)) ? 3'(LOL) : log2r;

  eie_layer_table #(
      .NL(NL), .NX(NX), .MAXG(MAXG), .DMAX(DMAX), .XW(XW), .PTR_D(PTR_D), .ACC_D(ACC_D),
      .BIAS_D(BIAS_D), .INIT_DIR(INIT_DIR), .LSTM(LSTM)
  ) u_table (
      .clk(clk), .setup(setup), .layer(layer), .ld_we(ld_we && ld_sel == 3'd4),
      .ld_addr(ld_addr[LW+3:0]), .ld_data(ld_data[31:0]), .n_out(n_out),
      .first_step(first_step), .n_det(n_det), .n_det_nx(n_det_nx),
      .log2g(log2g), .log2r(log2r), .ptr_base(ptr_base), .bias_base(bias_base), .rows(rows),
      .relu(relu), .rnd(rnd), .sat(sat), .sgn(sgn), .last(last), .shift(shift), .width(width),
      .omin(omin), .omax(omax), .depth(depth), .cb_slot(cb_field), .r_val(r_val), .rmul(rmul), .rec(rec_t),
      .steps(steps), .xl(xl), .n_units(n_units), .gmask(gmask), .gact(gact), .n_lines(n_lines),
      .n_lines_nx(n_lines_nx));
  generate
    if (CB_SLOTS == 0) begin : g_cb_layer
      assign cb_slot = layer;
    end else begin : g_cb_field
      assign cb_slot = cb_field[SW-1:0];
    end
  endgenerate

  // ---------------- control ----------------
  logic in_fire, arr_all, acc_rb, acc_gb;
  /* verilator lint_off UNUSEDSIGNAL */
  logic g_start;  // OVERLAP's
  logic [NXW-5:0] in_lines;  // the store's line address: its low bits
  /* verilator lint_on UNUSEDSIGNAL */
  logic [NXW-5:0] arr_lines;
  logic det_done, bc_busy;
  logic [P-1:0] pe_ok, pe_busy, pe_bc, pe_sel;
  logic gi_valid, gt_valid, g_valid;
  logic [RW-1:0] gi_row;
  logic [BA-1:0] gi_bias_addr;
  logic [5:0] gt_sel;
  logic [NXW:0] g_i0, g_i0_nx;
  logic g_valid_nx;
  assign layer_o = layer;

  eie_control #(
      .NL(NL), .NX(NX), .ANYR(ANYR), .ACC_D(ACC_D), .BIAS_D(BIAS_D), .LSTM(LSTM), .OVERLAP(OVERLAP)
  ) u_ctl (
      .clk(clk), .rst(rst), .start(start), .start_layer(start_layer), .done(done),
      .state(state_o), .layer(layer), .first(first),
      .setup(setup), .run(run), .in_valid(in_valid), .in_ready(in_ready), .in_fire(in_fire),
      .in_lines(in_lines), .n_lines(n_lines), .n_lines_nx(n_lines_nx), .log2r(log2r), .log2e(log2e),
      .r_val(r_val), .rows(rows), .bias_base(bias_base), .last(last), .rec(rec), .steps(steps),
      .ew_busy(ew_busy), .first_step(first_step), .last_step(last_step), .det_done(det_done),
      .bc_busy(bc_busy), .pe_busy(|pe_busy), .gi_valid(gi_valid), .gi_row(gi_row),
      .gi_bias_addr(gi_bias_addr), .gt_valid(gt_valid), .gt_sel(gt_sel), .g_valid(g_valid),
      .g_i0(g_i0), .g_valid_nx(g_valid_nx), .g_i0_nx(g_i0_nx), .g_start(g_start), .arr_lines(arr_lines), .arr_all(arr_all), .acc_rb(acc_rb),
      .acc_gb(acc_gb));

  // the gather's fields: the table's, or with OVERLAP a copy taken at the hand-off RUN -> GATHER,
  // held while the drain runs beside the next layer's SETUP (which loads the table's)
  logic gf_relu, gf_rnd, gf_sat, gf_sgn, gf_last;
  logic [5:0] gf_shift, gf_width;
  logic [XW-1:0] gf_omin, gf_omax;
  logic [NXW-1:0] gf_n_out;
  logic [2:0] gf_log2e;
  generate
    if (OVERLAP != 0) begin : g_gf_held
      always_ff @(posedge clk) begin
        if (g_start) begin
          {gf_relu, gf_rnd, gf_sat, gf_sgn, gf_last} <= {relu, rnd, sat, sgn, last};
          {gf_shift, gf_width, gf_omin, gf_omax, gf_n_out, gf_log2e} <= {shift, width, omin, omax, n_out, log2e};
        end
      end
    end else begin : g_gf_table
      assign {gf_relu, gf_rnd, gf_sat, gf_sgn, gf_last} = {relu, rnd, sat, sgn, last};
      assign {gf_shift, gf_width, gf_omin, gf_omax, gf_n_out, gf_log2e} = {shift, width, omin, omax, n_out, log2e};
    end
  endgenerate

  // ---------------- activation store ----------------
  logic [NX-1:0] nz;
  logic [LA-1:0] wr_line;
  logic [15:0] wr_mask, wr_nz;
  logic [15:0] bk_re, g_mask, l_mask, s_mask;
  logic [16*LA-1:0] bk_raddr;
  logic [16*XW-1:0] bk_q, g_data, l_data, s_data;
  logic [15:0] g_nz, l_nz, s_nz;
  logic [LA-1:0] g_line, l_line, s_line;
  logic l_valid;
  // the store's write: the gather's outputs, or for a recurrent entry the lanes' h
  assign s_mask = rec ? l_mask : g_mask;
  assign s_line = rec ? l_line : g_line;
  assign s_data = rec ? l_data : g_data;
  assign s_nz = rec ? l_nz : g_nz;
  always_comb begin
    for (int i = 0; i < 16; i++) l_nz[i] = l_data[i*XW+:XW] != '0;
  end

  eie_act_store #(.NX(NX), .XW(XW)) u_store (
      .clk(clk), .rd_en(bk_re), .rd_addr(bk_raddr), .rd_q(bk_q), .in_we(in_fire),
      .in_line(in_lines[LA-1:0]), .in_data(in_data), .g_mask(s_mask), .g_line(s_line),
      .g_data(s_data), .g_nz(s_nz), .nz(nz), .wr_line(wr_line), .wr_mask(wr_mask), .wr_nz(wr_nz));

  // ---------------- detectors and broadcast ----------------
  logic [P*CW-1:0] pe_col, pe_ecol;
  logic [P*XW-1:0] pe_x;

  eie_broadcast #(.P(P), .ANYR(ANYR), .MAXG(MAXG), .NX(NX), .XW(XW), .GSEL_HELD(OVERLAP == 2 ? 1 : 0)) u_bc (
      .clk(clk), .rst(rst), .init(setup), .run(run), .first_layer((OVERLAP != 0) || first),
      .in_lines(arr_lines), .in_all(arr_all), .n_in(n_det), .n_nx(n_det_nx), .log2g(log2g), .g_start(g_start), .g_log2e(gf_log2e), .log2r(log2r),
      .log2e(log2e), .gmask(gmask), .gact(gact), .r_val(r_val), .rmul(rmul), .nz(nz), .bk_re(bk_re), .bk_raddr(bk_raddr),
      .wr_line(wr_line), .wr_mask(wr_mask), .wr_nz(wr_nz),
      .bk_q(bk_q), .pe_ok(pe_ok), .pe_bc(pe_bc), .pe_col(pe_col), .pe_ecol(pe_ecol), .pe_x(pe_x), .gt_sel(gt_sel),
      .pe_sel(pe_sel), .det_done(det_done), .bc_busy(bc_busy));

  // ---------------- PEs ----------------
  logic [P*ACCW-1:0] pe_term;
  logic [P*64-1:0] pe_ldq;

  genvar p;
  generate
    for (p = 0; p < P; p = p + 1) begin : g_pe
      localparam [7:0] C2 = 8'd48 + p / 100;
      localparam [7:0] C1 = 8'd48 + (p / 10) % 10;
      localparam [7:0] C0 = 8'd48 + p % 10;
      localparam [23:0] ID = {C2, C1, C0};
      eie_pe #(
          .DMAX(DMAX), .XW(XW), .WW(WW), .ACCW(ACCW), .CBW(CBW),
          .IXW(IXW), .NL(NL), .CB_SLOTS(CB_SLOTS), .LD_READ(LD_READ), .ENT_D(ENT_D), .PTR_D(PTR_D), .ACC_D(ACC_D), .BIAS_D(BIAS_D),
          .CW(CW), .ENT_L(ENT_L), .PTR_L(PTR_L), .WALK(WALK), .PP(OVERLAP == 2 ? 1 : 0), .CB_LUT(CB_LUT), .ACC_LUT(ACC_LUT), .SKIP(SKIP),
          .ENT_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/ent_", ID, ".mem"}),
          .PTR_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/ptr_", ID, ".mem"}),
          .NZC_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/nzc_", ID, ".mem"}),
          .CB_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/cb_", ID, ".mem"}),
          .BIAS_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/bias_", ID, ".mem"})
      ) u_pe (
          .clk(clk), .rst(rst), .init(setup), .acc_rb(acc_rb), .acc_gb(acc_gb), .cb_slot(cb_slot), .ptr_base(ptr_base), .depth(depth),
          .my_bc(pe_bc[p]), .my_col(pe_col[p*CW+:CW]), .my_ecol(pe_ecol[p*CW+:CW]), .my_x(pe_x[p*XW+:XW]), .ok(pe_ok[p]),
          .busy(pe_busy[p]), .gi_valid(gi_valid), .gi_row(gi_row), .gi_bias_addr(gi_bias_addr),
          .gt_valid(gt_valid), .gt_sel(pe_sel[p]), .term(pe_term[p*ACCW+:ACCW]),
          .ld_we(ld_we && (ld_bcast || ld_pe == 6'(p))), .ld_sel(ld_sel), .ld_addr(ld_addr),
          .ld_data(ld_data), .ld_re(ld_re), .ld_me(ld_pe == 6'(p)), .ld_q(pe_ldq[p*64+:64]));
    end
  endgenerate
  // readback: the PE read answers, the others give zero
  always_comb begin
    ld_q = '0;
    for (int k = 0; k < P; k++) ld_q = ld_q | pe_ldq[k*64+:64];
  end

  // ---------------- gather ----------------
  logic go_valid;
  logic [LA-1:0] go_line;
  logic [15:0] go_mask;
  logic [16*XW-1:0] go_data;
  eie_gather #(.P(P), .OL(OL), .ACCW(ACCW), .XW(XW), .NX(NX)) u_gather (
      .clk(clk), .pe_term(pe_term), .relu(gf_relu), .rnd(gf_rnd), .sat(gf_sat), .sgn(gf_sgn),
      .last(gf_last), .shift(gf_shift), .width(gf_width), .omin(gf_omin), .omax(gf_omax),
      .n_out(gf_n_out), .log2e(gf_log2e),
      .g_valid(g_valid), .g_i0(g_i0), .g_valid_nx(g_valid_nx), .g_i0_nx(g_i0_nx), .g_mask(g_mask),
      .g_line(g_line), .g_data(g_data), .g_nz(g_nz),
      .out_valid(go_valid), .out_line(go_line), .out_mask(go_mask), .out_data(go_data));
  // the output port: the last layer's outputs (a recurrent last layer: h_T at its last step)
  assign out_valid = rec ? (l_valid && last && last_step && (|l_mask)) : go_valid;
  assign out_line = rec ? l_line : go_line;
  assign out_mask = rec ? l_mask : go_mask;
  assign out_data = rec ? l_data : go_data;

  // ---------------- LSTM element-wise lanes ----------------
  // the sigmoid/tanh ROM images (sig.mem, tanh.mem): INIT_DIR's, or the working directory's when
  // synthesised with EIE_LSTM_TABLES_HERE (flow.rtl.yosys: the other memories get no image there)
`ifdef EIE_LSTM_TABLES_HERE
  localparam TDIR = ".";
`else
  localparam TDIR = INIT_DIR;
`endif
  generate
    if (LSTM != 0) begin : g_lstm
      eie_lstm #(
          .OL(OL), .XW(XW), .NX(NX), .CELL_D(CELL_D), .GF(L_GF), .CLW(L_CLW), .CLF(L_CLF),
          .C_RND(L_C_RND), .C_SAT(L_C_SAT), .HW(L_HW), .HF(L_HF), .H_RND(L_H_RND), .H_SAT(L_H_SAT),
          .SIG_FILE(TDIR == "" ? "" : {TDIR, "/sig.mem"}),
          .TANH_FILE(TDIR == "" ? "" : {TDIR, "/tanh.mem"})
      ) u_lstm (
          .clk(clk), .rst(rst), .init(setup), .en(g_valid && rec), .g_data(g_data), .log2e(log2e),
          .first_step(first_step), .last_step(last_step), .xl(xl), .n_units(n_units),
          .busy(ew_busy), .w_valid(l_valid), .w_mask(l_mask), .w_line(l_line), .w_data(l_data));
    end else begin : g_no_lstm
      assign ew_busy = 1'b0;
      assign l_valid = 1'b0;
      assign l_mask = '0;
      assign l_line = '0;
      assign l_data = '0;
    end
  endgenerate
endmodule
`default_nettype wire
