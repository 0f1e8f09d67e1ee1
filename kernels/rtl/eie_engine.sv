// eie_engine: EIE's PE array serving every layer of a network in turn.
//
// Architecture (docs/rtl.md has the full description and the cycle schedule):
// - Activation store: the current layer's input vector in 16 banks (column j in bank j % 16
//   at line j / 16) plus a non-zero bitmap in registers. Layer 0 fills it from the input port
//   (one line of 16 activations per cycle); the gather of layer l overwrites it with layer
//   l's outputs, which are layer l+1's inputs.
// - One detector per column group (up to MAXG): scans the bitmap 64 columns at a time and
//   broadcasts one non-zero (local column, value) per cycle to the R = P/G PEs of its group,
//   gated so that no queue of the group can overflow.
// - P PEs (eie_pe): queue, pointer pair read, entry walk, codebook, multiply, accumulate.
// - Gather: per cycle one chunk of E = min(R, OL) rows (ANYR: E = min(OL, the largest power
//   of two dividing R), R = PEs per group): every PE reads its accumulator and
//   bias at the chunk's local row; lane sums over the G groups (two adder stages), ReLU and
//   requantisation (eie_requant), then E outputs are written to the store (and, for the last
//   layer, to the output port).
// - Layer table (NL layers x 16 words of 32 bits): sizes, groups, base addresses, modes.
// Phases per inference: SETUP (1 cycle, load the layer's table entry) -> RUN (input, detect,
// broadcast, PEs; ends one cycle after everything is idle) -> GATHER (chunks, then a 5-cycle
// drain) -> SETUP of the next layer, or done.
// Memories are initialised from INIT_DIR/*.mem ($readmemh; "" for none) and writable through
// the load port (ld_*), so a model can be replaced at run time.
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
    // derived
    parameter NXW = $clog2(NX + 1),
    parameter NLINES = NX / 16,
    parameter LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    parameter CW = $clog2(NX),
    parameter GW = (MAXG > 1) ? $clog2(MAXG) : 1,
    parameter LW = (NL > 1) ? $clog2(NL) : 1,
    parameter DW = $clog2(DMAX + 1),
    parameter PA = (PTR_D > 1) ? $clog2(PTR_D) : 1,
    parameter RW = (ACC_D > 1) ? $clog2(ACC_D) : 1,
    parameter BA = (BIAS_D > 1) ? $clog2(BIAS_D) : 1,
    parameter LOL = (OL > 1) ? $clog2(OL) : 0,
    // window counter bits: w reaches NX / 64 (past the last window) when n_in > NX - 64
    parameter WA = $clog2(NX / 64 + 1)
) (
    input  logic             clk,
    input  logic             rst,
    // one inference: start pulse, done pulse after the last output
    input  logic             start,
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
    // loader: sel 0 entries, 1 pointer pairs, 2 codebooks, 3 biases (of PE ld_pe), 4 table
    input  logic             ld_we,
    input  logic [      2:0] ld_sel,
    input  logic [      5:0] ld_pe,
    input  logic [     31:0] ld_addr,
    input  logic [     63:0] ld_data
);
  localparam S_IDLE = 2'd0, S_SETUP = 2'd1, S_RUN = 2'd2, S_GATHER = 2'd3;
  // F_LOG2R: trailing zeros of R (log2 R when R is a power of two); F_R: R
  localparam F_NIN = 0, F_NOUT = 1, F_LOG2G = 2, F_LOG2R = 3, F_PTR = 4, F_BIAS = 5,
      F_ROWS = 6, F_FLAGS = 7, F_SHIFT = 8, F_WIDTH = 9, F_MIN = 10, F_MAX = 11, F_DEPTH = 12,
      F_R = 13;

  initial begin
    if (P > 64 || (ANYR == 0 && (P & (P - 1)) != 0)) $error("P must be a power of two <= 64 (any with ANYR)");
    if (OL > P || OL > 16) $error("OL must be <= P and <= 16");
    if (NX % 64 != 0) $error("NX must be a multiple of 64");
    if (ACCW <= XW + WW) $error("ACCW must exceed XW + WW");
  end

  // ---------------- layer table ----------------
  // registers (not a RAM): SETUP reads all fields of a layer in one cycle
  (* mem2reg *) logic [31:0] tbl[0:(1<<LW)*16-1];
  initial begin
    if (INIT_DIR != "") $readmemh({INIT_DIR, "/table.mem"}, tbl);
  end
  always_ff @(posedge clk) begin
    if (ld_we && ld_sel == 3'd4) tbl[ld_addr[LW+3:0]] <= ld_data[31:0];
  end

  logic [1:0] state;
  logic [LW-1:0] layer;
  logic [NXW-1:0] n_in, n_out;
  logic [2:0] log2g, log2r, log2e;
  logic [PA-1:0] ptr_base;
  logic [BA-1:0] bias_base;
  logic [RW:0] rows;
  logic relu, rnd, sat, sgn, last;
  logic [5:0] shift, width;
  logic [XW-1:0] omin, omax;
  logic [DW-1:0] depth;
  logic [6:0] r_val;  // R (PEs per group), used when ANYR
  /* verilator lint_off UNUSEDSIGNAL */
  logic [9:0] rmul[0:MAXG-1];  // R * k, used when ANYR
  /* verilator lint_on UNUSEDSIGNAL */
  assign state_o = state;
  assign layer_o = layer;
  assign log2e = (log2r > 3'(LOL)) ? 3'(LOL) : log2r;

  // ---------------- activation store ----------------
  logic [NX-1:0] nz;
  logic [NXW-5:0] lines_in, n_lines;
  assign n_lines = n_in[NXW-1:4] + {{(NXW - 5) {1'b0}}, n_in[3:0] != 4'd0};
  logic [15:0] bk_re;
  logic [LA-1:0] bk_raddr[0:15];
  logic [XW-1:0] bk_q[0:15];
  logic [15:0] wr_mask;
  logic [LA-1:0] wr_line;
  logic [16*XW-1:0] wr_data;

  // ---------------- detectors and broadcast ----------------
  logic [MAXG-1:0] det_emit, det_done, gate, bc_valid;
  logic [NXW-1:0] det_j[0:MAXG-1];
  logic [WA-1:0] det_w[0:MAXG-1];
  logic [MAXG*CW-1:0] bc_col;
  logic [MAXG*XW-1:0] bc_x;
  logic [3:0] bc_bank[0:MAXG-1];
  logic det_init, det_run;
  assign det_init = state == S_SETUP;
  assign det_run = state == S_RUN;

  // ---------------- PEs ----------------
  logic [P-1:0] pe_ok, pe_busy, pe_active;
  logic [P*GW-1:0] pe_grp;
  logic [P*ACCW-1:0] pe_term;
  logic gi_valid, gt_valid;
  logic [RW-1:0] gi_row;
  logic [BA-1:0] gi_bias_addr;
  logic [5:0] gi_sel, gt_sel;

  genvar g, p, b;
  generate
    for (g = 0; g < MAXG; g = g + 1) begin : g_det
      logic avail;
      logic [15:0] need, have;
      assign need = {{(14 - WA) {1'b0}}, det_w[g], 2'b00} + 16'd4;
      assign have = {{(16 - (NXW - 4)) {1'b0}}, lines_in};
      assign avail = (layer != '0) || (lines_in == n_lines) || (need <= have);
      // the window bits this detector can ever take: column j is group j % G for some G > g,
      // so j % G0 == g with G0 the smallest power of two above g (others are left out, and
      // with them their window multiplexers)
      localparam integer G0 = (g == 0) ? 1 : (1 << $clog2(g + 1));
      localparam [G0-1:0] ONE = 1;
      localparam [63:0] WMASK = {(64 / G0) {ONE << (g % G0)}};
      logic [63:0] win;
      assign win = nz[det_w[g]*64+:64] & WMASK;
      eie_detector #(.G_IDX(g), .NX(NX)) u_det (
          .clk(clk), .init(det_init), .run(det_run), .log2g(log2g), .n_in(n_in),
          .avail(avail), .gate(gate[g]), .win(win), .w(det_w[g]),
          .emit(det_emit[g]), .emit_j(det_j[g]), .done(det_done[g]));
      always_comb begin
        gate[g] = 1'b1;
        for (int i = 0; i < P; i++) begin
          if (pe_active[i] && pe_grp[i*GW+:GW] == GW'(g) && !pe_ok[i]) gate[g] = 1'b0;
        end
      end
      /* verilator lint_off UNUSEDSIGNAL */
      logic [NXW-1:0] col;  // local column < NX: CW bits
      /* verilator lint_on UNUSEDSIGNAL */
      assign col = det_j[g] >> log2g;
      always_ff @(posedge clk) begin
        bc_valid[g] <= det_emit[g];
        bc_col[g*CW+:CW] <= col[CW-1:0];
        bc_bank[g] <= det_j[g][3:0];
        if (rst) bc_valid[g] <= 1'b0;
      end
      assign bc_x[g*XW+:XW] = bk_q[bc_bank[g]];
    end

    for (b = 0; b < 16; b = b + 1) begin : g_bank
      logic [GW-1:0] owner;
      logic [3:0] bb;
      assign bb = b;
      assign owner = bb[GW-1:0] & ((GW'(1) << log2g) - GW'(1));
      assign bk_re[b] = det_emit[owner] && det_j[owner][3:0] == bb;
      assign bk_raddr[b] = det_j[owner][LA+3:4];
      eie_ram #(.BLOCK(NLINES * XW > 1024 ? 1 : 0), .DEPTH(NLINES), .WIDTH(XW)) u_bank (
          .clk(clk), .re(bk_re[b]), .raddr(bk_raddr[b]), .q(bk_q[b]),
          .we(wr_mask[b]), .waddr(wr_line), .wdata(wr_data[b*XW+:XW]));
    end

    for (p = 0; p < P; p = p + 1) begin : g_pe
      localparam [7:0] C2 = 8'd48 + p / 100;
      localparam [7:0] C1 = 8'd48 + (p / 10) % 10;
      localparam [7:0] C0 = 8'd48 + p % 10;
      localparam [23:0] ID = {C2, C1, C0};
      localparam [5:0] PI = p;
      logic [5:0] q_idx, q_sel;
      logic my_bc, my_sel;
      logic [CW-1:0] my_col;
      logic [XW-1:0] my_x;
      assign q_sel = q_idx >> log2e;
      assign my_sel = pe_active[p] && q_sel == gt_sel;
      if (ANYR != 0) begin : g_any
        // group g = p / R as the count of k >= 1 with R * k <= p (rmul: the multiples of the
        // layer's R, registered at SETUP; no divider), row-PE index q = p - R * g; idle when
        // p >= R * G. They change only per layer, so they are registered (gi, q_r, act_r): the
        // broadcast selects and the gate loop see flip-flops, not the compares. rmul is set at
        // the end of SETUP, so they hold the new layer's values from the second RUN cycle on;
        // the first RUN cycle cannot need them (no broadcast is in flight, bc_valid is all 0, so
        // every PE is ok and every gate open whatever the group), the first broadcast is in the
        // second RUN cycle at the earliest.
        logic [GW-1:0] gi_n, gi;
        logic [5:0] q_r;
        logic act_r;
        /* verilator lint_off UNUSEDSIGNAL */
        logic [9:0] rk;  // p >= rk: 6 bits
        /* verilator lint_on UNUSEDSIGNAL */
        always_comb begin
          gi_n = '0;
          for (int k = 1; k < MAXG; k++) begin
            if ({4'd0, PI} >= rmul[k]) gi_n = GW'(k);
          end
        end
        assign rk = rmul[gi_n];
        always_ff @(posedge clk) begin
          gi <= gi_n;
          q_r <= PI - rk[5:0];
          act_r <= {4'd0, PI} < (10'(r_val) << log2g);
        end
        assign q_idx = q_r;
        assign pe_active[p] = act_r;
        assign pe_grp[p*GW+:GW] = gi;
        assign my_bc = pe_active[p] && bc_valid[gi];
        assign my_col = bc_col[gi*CW+:CW];
        assign my_x = bc_x[gi*XW+:XW];
      end else begin : g_pow2
        // group g = p >> log2r, row-PE index q = p % R (R = 2**log2r), idle when g >= G.
        // The buses the PE can take are p >> k for k = KMIN .. KMIN + GW (a smaller log2r
        // leaves it idle), so its bus is a (GW+1)-way mux on kd = log2r - KMIN, not MAXG-way.
        localparam integer KMIN = (p < MAXG) ? 0 : $clog2(p + 1) - GW;
        localparam KDW = (GW > 0) ? $clog2(GW + 1) : 1;
        /* verilator lint_off UNUSEDSIGNAL */
        logic [5:0] g_full;  // only GW bits address a broadcast bus
        /* verilator lint_on UNUSEDSIGNAL */
        logic [KDW-1:0] kd;
        assign g_full = PI >> log2r;
        assign q_idx = PI & ((6'd1 << log2r) - 6'd1);
        assign pe_active[p] = (PI >> (log2r + log2g)) == 6'd0;
        assign pe_grp[p*GW+:GW] = g_full[GW-1:0];
        always_comb begin
          if (log2r <= 3'(KMIN)) kd = '0;
          else if (log2r >= 3'(KMIN + GW)) kd = KDW'(GW);
          else kd = KDW'(log2r - 3'(KMIN));
          my_bc = 1'b0;
          my_col = '0;
          my_x = '0;
          for (int d = 0; d <= GW; d++) begin
            if (kd == KDW'(d)) begin
              my_bc = pe_active[p] && bc_valid[((p >> (KMIN + d)) % MAXG)];
              my_col = bc_col[((p >> (KMIN + d)) % MAXG)*CW+:CW];
              my_x = bc_x[((p >> (KMIN + d)) % MAXG)*XW+:XW];
            end
          end
        end
      end
      eie_pe #(
          .DMAX(DMAX), .XW(XW), .WW(WW), .ACCW(ACCW), .CBW(CBW),
          .IXW(IXW), .NL(NL), .ENT_D(ENT_D), .PTR_D(PTR_D), .ACC_D(ACC_D), .BIAS_D(BIAS_D),
          .CW(CW),
          .ENT_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/ent_", ID, ".mem"}),
          .PTR_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/ptr_", ID, ".mem"}),
          .CB_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/cb_", ID, ".mem"}),
          .BIAS_FILE(INIT_DIR == "" ? "" : {INIT_DIR, "/bias_", ID, ".mem"})
      ) u_pe (
          .clk(clk), .rst(rst), .init(det_init), .layer(layer), .ptr_base(ptr_base), .depth(depth),
          .my_bc(my_bc), .my_col(my_col), .my_x(my_x), .ok(pe_ok[p]), .busy(pe_busy[p]),
          .gi_valid(gi_valid), .gi_row(gi_row),
          .gi_bias_addr(gi_bias_addr), .gt_valid(gt_valid),
          .gt_sel(my_sel), .term(pe_term[p*ACCW+:ACCW]),
          .ld_we(ld_we && ld_pe == 6'(p)), .ld_sel(ld_sel), .ld_addr(ld_addr),
          .ld_data(ld_data));
    end
  endgenerate

  // ---------------- control ----------------
  logic run_done, run_done_q;
  logic [RW:0] gr;
  logic [5:0] gs, nchunk_last;
  logic issued_all;
  logic v1, v2, v3, v4, v5;
  logic [NXW:0] i0_1, i0_2, i0_3, i0_4, i0_5, i0_issue, rbase;
  logic [LW+3:0] tb;
  logic in_fire;

  assign tb = {layer, 4'd0};
  assign run_done = (&det_done) && !(|bc_valid) && !(|pe_busy) &&
                    (layer != '0 || lines_in == n_lines);
  assign in_ready = state == S_RUN && layer == '0 && lines_in < n_lines;
  assign in_fire = in_valid && in_ready;
  // chunks per local row - 1: R / E - 1 (E divides R)
  assign nchunk_last = (ANYR != 0) ? 6'(r_val >> log2e) - 6'd1 : (6'd1 << (log2r - log2e)) - 6'd1;
  assign gi_valid = state == S_GATHER && !issued_all;
  assign gi_row = gr[RW-1:0];
  assign gi_bias_addr = bias_base + {{(BA - RW) {1'b0}}, gr[RW-1:0]};
  assign gi_sel = gs;
  // first output row of the chunk: gr * R (rbase, a running sum when ANYR) + gs * E
  assign i0_issue = ((ANYR != 0) ? rbase : ({{(NXW - RW) {1'b0}}, gr} << log2r)) +
                    ({{(NXW - 5) {1'b0}}, gs} << log2e);
  assign gt_valid = v1;

  always_ff @(posedge clk) begin
    done <= 1'b0;
    case (state)
      S_IDLE: begin
        if (start) begin
          layer <= '0;
          state <= S_SETUP;
        end
      end
      S_SETUP: begin
        n_in <= tbl[tb+F_NIN][NXW-1:0];
        n_out <= tbl[tb+F_NOUT][NXW-1:0];
        log2g <= tbl[tb+F_LOG2G][2:0];
        log2r <= tbl[tb+F_LOG2R][2:0];
        ptr_base <= tbl[tb+F_PTR][PA-1:0];
        bias_base <= tbl[tb+F_BIAS][BA-1:0];
        rows <= tbl[tb+F_ROWS][RW:0];
        relu <= tbl[tb+F_FLAGS][0];
        rnd <= tbl[tb+F_FLAGS][1];
        sat <= tbl[tb+F_FLAGS][2];
        sgn <= tbl[tb+F_FLAGS][3];
        last <= tbl[tb+F_FLAGS][4];
        shift <= tbl[tb+F_SHIFT][5:0];
        width <= tbl[tb+F_WIDTH][5:0];
        omin <= tbl[tb+F_MIN][XW-1:0];
        omax <= tbl[tb+F_MAX][XW-1:0];
        depth <= tbl[tb+F_DEPTH][DW-1:0];
        r_val <= tbl[tb+F_R][6:0];
        // R * k by shift-and-add (k < 16: R, 2R, 4R, 8R as the bits of k select), no DSP48
        for (int k = 0; k < MAXG; k++) begin
          rmul[k] <= ((k & 1) != 0 ? 10'(tbl[tb+F_R][6:0]) : 10'd0) +
                     ((k & 2) != 0 ? 10'(tbl[tb+F_R][6:0]) << 1 : 10'd0) +
                     ((k & 4) != 0 ? 10'(tbl[tb+F_R][6:0]) << 2 : 10'd0) +
                     ((k & 8) != 0 ? 10'(tbl[tb+F_R][6:0]) << 3 : 10'd0);
        end
        rbase <= '0;
        lines_in <= '0;
        run_done_q <= 1'b0;
        gr <= '0;
        gs <= '0;
        issued_all <= 1'b0;
        state <= S_RUN;
      end
      S_RUN: begin
        run_done_q <= run_done;
        if (in_fire) lines_in <= lines_in + 1'b1;
        if (run_done_q) state <= S_GATHER;
      end
      S_GATHER: begin
        if (!issued_all) begin
          if (gs == nchunk_last) begin
            gs <= '0;
            gr <= gr + 1'b1;
            rbase <= rbase + {{(NXW - 6) {1'b0}}, r_val};
            if (gr + 1'b1 == rows) issued_all <= 1'b1;
          end else begin
            gs <= gs + 1'b1;
          end
        end else if (!(v1 || v2 || v3 || v4 || v5)) begin
          if (last) begin
            state <= S_IDLE;
            done  <= 1'b1;
          end else begin
            layer <= layer + 1'b1;
            state <= S_SETUP;
          end
        end
      end
      default: state <= S_IDLE;
    endcase
    v1 <= gi_valid;
    v2 <= v1;
    v3 <= v2;
    v4 <= v3;
    v5 <= v4;
    i0_1 <= i0_issue;
    i0_2 <= i0_1;
    i0_3 <= i0_2;
    i0_4 <= i0_3;
    i0_5 <= i0_4;
    gt_sel <= gi_sel;
    if (rst) begin
      state <= S_IDLE;
      layer <= '0;
      done <= 1'b0;
      v1 <= 1'b0;
      v2 <= 1'b0;
      v3 <= 1'b0;
      v4 <= 1'b0;
      v5 <= 1'b0;
    end
  end

  // ---------------- gather datapath ----------------
  localparam NT = 2 * OL - 1;
  // rounding term of all lanes: 2**(shift-1) when rounding, else 0
  logic [ACCW:0] half;
  assign half = (rnd && shift != 6'd0) ? ({{ACCW{1'b0}}, 1'b1} << (shift - 6'd1)) : '0;
  logic [ACCW-1:0] s_reg[0:OL-1];
  logic [ACCW-1:0] tree[0:NT-1];
  logic [ACCW-1:0] lane_reg[0:OL-1];
  logic [XW-1:0] out_reg[0:OL-1];
  logic [XW-1:0] rq[0:OL-1];
  logic [ACCW-1:0] s_n[0:OL-1];
  logic [ACCW-1:0] lane_n[0:OL-1];
  logic [2:0] lvl;
  assign lvl = 3'(LOL) - log2e;

  always_comb begin
    for (int l = 0; l < OL; l++) begin
      s_n[l] = '0;
      for (int k = 0; k < (P + OL - 1) / OL; k++) begin
        if (l + k * OL < P) s_n[l] = s_n[l] + pe_term[(l+k*OL)*ACCW+:ACCW];
      end
    end
    for (int l = 0; l < OL; l++) tree[l] = s_reg[l];
    for (int m = 1; m <= LOL; m++) begin
      for (int l = 0; l < (OL >> m); l++) begin
        tree[2*OL-(2*OL>>m)+l] = tree[2*OL-(2*OL>>(m-1))+l] + tree[2*OL-(2*OL>>(m-1))+l+(OL>>m)];
      end
    end
    for (int l = 0; l < OL; l++) begin
      lane_n[l] = '0;
      for (int m = 0; m <= LOL; m++) begin
        if (lvl == 3'(m) && l < (OL >> m)) lane_n[l] = tree[2*OL-(2*OL>>m)+l];
      end
    end
  end

  generate
    for (b = 0; b < OL; b = b + 1) begin : g_rq
      eie_requant #(.ACCW(ACCW), .XW(XW)) u_rq (
          .v(lane_reg[b]), .relu(relu), .half(half), .sat(sat), .sgn(sgn), .shift(shift),
          .width(width), .omin(omin), .omax(omax), .out(rq[b]));
    end
  endgenerate

  always_ff @(posedge clk) begin
    for (int l = 0; l < OL; l++) begin
      s_reg[l] <= s_n[l];
      lane_reg[l] <= lane_n[l];
      out_reg[l] <= rq[l];
    end
  end

  // ---------------- store writes and output ----------------
  logic [15:0] g_mask;
  logic [16*XW-1:0] g_data;
  logic [3:0] e_mask;
  assign e_mask = (4'd1 << log2e) - 4'd1;
  always_comb begin
    for (int i = 0; i < 16; i++) begin
      g_mask[i] = v5 && ((4'(i) & ~e_mask) == i0_5[3:0]) &&
                  ({i0_5[NXW:4], 4'(i)} < {1'b0, n_out});
      /* verilator lint_off WIDTH */
      g_data[i*XW+:XW] = out_reg[4'(i) & e_mask];  // OL = 1: index 0
      /* verilator lint_on WIDTH */
    end
  end
  assign wr_mask = in_fire ? 16'hffff : g_mask;
  assign wr_line = in_fire ? lines_in[LA-1:0] : i0_5[LA+3:4];
  assign wr_data = in_fire ? in_data : g_data;

  always_ff @(posedge clk) begin
    for (int L = 0; L < NLINES; L++) begin
      for (int i = 0; i < 16; i++) begin
        if (wr_mask[i] && wr_line == LA'(L)) nz[L*16+i] <= wr_data[i*XW+:XW] != '0;
      end
    end
  end

  assign out_valid = v5 && last && (|g_mask);
  assign out_line = i0_5[LA+3:4];
  assign out_mask = g_mask;
  assign out_data = g_data;
endmodule
