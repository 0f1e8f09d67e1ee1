// eie_broadcast: the detectors of the column groups and the broadcast of their non-zeros to
// the PEs.
//
// One eie_detector per group g < MAXG scans the bitmap; an emitted column j is registered,
// then reads its value from bank j % 16 (the groups own disjoint banks); the cycle after that
// the group's broadcast register (local column j / G, value) goes to the queues of the group's
// R = P / G PEs. A
// detector emits only when every queue of its group has room (the gate). Each PE's group and
// row-PE index come from the layer's G and R: shifts and masks when R is a power of two (a
// (GW+1)-way bus multiplexer per PE), compares against R * k when ANYR. pe_sel says which PEs'
// terms the gather's current chunk takes.
`default_nettype none
module eie_broadcast #(
    // processing elements
    parameter P = 16,
    // 1: any R (compares against R * k), 0: R a power of two
    parameter ANYR = 0,
    // column groups supported (power of two, <= 16)
    parameter MAXG = 8,
    // activations the store holds (multiple of 64)
    parameter NX = 1024,
    // activation bits
    parameter XW = 16,
    // 1: the gather select keeps the gathered layer's mapping, taken at the hand-off (the engine's
    // OVERLAP = 2: the next layer's mapping is loaded while that gather runs)
    parameter GSEL_HELD = 0,
    localparam NXW = $clog2(NX + 1),
    localparam NLINES = NX / 16,
    localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    localparam CW = $clog2(NX),
    localparam GW = (MAXG > 1) ? $clog2(MAXG) : 1,
    // window counter bits: w reaches NX / 64 (past the last window) when n_in > NX - 64
    localparam WA = $clog2(NX / 64 + 1)
) (
    input  logic                clk,
    input  logic                rst,
    // SETUP (detectors restart) and RUN (detectors scan)
    input  logic                init,
    input  logic                run,
    // layer 0 (and a layer after an overlapped gather): a window's columns are scanned as their
    // lines arrive (in_lines of n_lines), and it is left once its 4 lines have
    input  logic                first_layer,
    input  logic [     NXW-5:0] in_lines,
    input  logic                in_all,
    // the layer's fields
    input  logic [     NXW-1:0] n_in,
    // during SETUP: the n_in being loaded (the detectors' window limits at the same edge)
    input  logic [     NXW-1:0] n_nx,
    input  logic [         2:0] log2g,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [         2:0] log2e,
    // GSEL_HELD: the hand-off RUN -> GATHER and the gathered layer's log2e
    input  logic                g_start,
    input  logic [         2:0] g_log2e,
    /* verilator lint_on UNUSEDSIGNAL */
    // the detectors' group masks (eie_layer_table: bit g MAXG + r for columns i % MAXG == r)
    input  logic [MAXG*MAXG-1:0] gmask,
    input  logic [    MAXG-1:0] gact,
    // R's trailing zeros (used when not ANYR); R and R * k (used when ANYR)
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [         2:0] log2r,
    input  logic [         6:0] r_val,
    input  logic [ MAXG*10-1:0] rmul,
    /* verilator lint_on UNUSEDSIGNAL */
    // activation store: bitmap, bank reads
    input  logic [      NX-1:0] nz,
    // the bitmap's write at this edge (eie_act_store: line, words, non-zero words)
    input  logic [        LA-1:0] wr_line,
    input  logic [          15:0] wr_mask,
    input  logic [          15:0] wr_nz,
    output logic [        15:0] bk_re,
    output logic [   16*LA-1:0] bk_raddr,
    input  logic [   16*XW-1:0] bk_q,
    // PEs: queue room, broadcast, gather select of the chunk gt_sel
    input  logic [       P-1:0] pe_ok,
    output logic [       P-1:0] pe_bc,
    output logic [    P*CW-1:0] pe_col,
    output logic [    P*XW-1:0] pe_x,
    // the local column in the PE's group's emit register, a cycle before it is broadcast: the PE
    // reads whether it has entries there, so a column it has none in never enters its queue
    output logic [    P*CW-1:0] pe_ecol,
    input  logic [         5:0] gt_sel,
    output logic [       P-1:0] pe_sel,
    // every detector done, a broadcast in flight
    output logic                det_done,
    output logic                bc_busy
);
  logic [MAXG-1:0] det_emit, det_dn, gate, bc_valid, e_valid;
  logic [NXW-1:0] det_j[0:MAXG-1];
  // the emit registered (e_valid, e_j) before the bank read: a detector's scan and the store's
  // read are in different cycles (issue 21's timing levers; the broadcast a cycle later)
  // (a packed vector, not an array: Icarus 11 miscompiles a shift of a variable array's word)
  logic [MAXG*NXW-1:0] e_j;
  logic [WA-1:0] det_w[0:MAXG-1];
  logic [MAXG*CW-1:0] bc_col, e_col;
  logic [MAXG*XW-1:0] bc_x;
  logic [3:0] bc_bank[0:MAXG-1];
  logic [P-1:0] pe_active;
  logic [P*GW-1:0] pe_grp;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [9:0] rm[0:MAXG-1];  // R * k, used when ANYR
  /* verilator lint_on UNUSEDSIGNAL */
  assign det_done = &det_dn;
  assign bc_busy = |bc_valid || |e_valid;

  genvar g, p, b;
  generate
    for (g = 0; g < MAXG; g = g + 1) begin : g_rm
      assign rm[g] = rmul[g*10+:10];
    end

    for (g = 0; g < MAXG; g = g + 1) begin : g_det
      logic avail;
      logic [3:0] am;
      logic [15:0] wa, have;
      // window w's lines 4w .. 4w + 3 have arrived: 4 (w + 1) <= in_lines, i.e. w < in_lines / 4
      // (one narrow compare of registers, no adder before it); its line q has: 4 w + q < in_lines
      assign wa = {{(16 - WA) {1'b0}}, det_w[g]};
      assign have = {{(16 - (NXW - 6)) {1'b0}}, in_lines[NXW-5:2]};
      assign avail = !first_layer || in_all || (wa < have);
      for (b = 0; b < 4; b = b + 1) begin : g_am
        logic [17:0] wq;
        assign wq = {wa, 2'(b)};
        assign am[b] = avail || (wq < 18'(in_lines));
      end
      // the window bits this detector can ever take: column j is group j % G for some G > g,
      // so j % G0 == g with G0 the smallest power of two above g (others are left out, and
      // with them their window multiplexers)
      localparam integer G0 = (g == 0) ? 1 : (1 << $clog2(g + 1));
      localparam [G0-1:0] ONE = 1;
      localparam [63:0] WMASK = {(64 / G0) {ONE << (g % G0)}};
      // the bitmap's window wx (0 at SETUP, else w + 1): the detector's window register loads it
      logic [63:0] nzx, gm;
      logic [WA-1:0] det_wx;
      assign nzx = nz[det_wx*64+:64] & WMASK;
      for (b = 0; b < 64; b = b + 1) begin : g_gm
        assign gm[b] = gmask[g*MAXG+(b%MAXG)];
      end
      eie_detector #(.OWN(WMASK), .NX(NX)) u_det (
          .clk(clk), .init(init), .run(run), .gmask(gm), .gact(gact[g]), .n_in(n_in), .n_nx(n_nx),
          .avail(avail), .am(am), .gate(gate[g]), .wx(det_wx), .nzx(nzx), .wr_line(wr_line),
          .wr_mask(wr_mask), .wr_nz(wr_nz), .w(det_w[g]),
          .emit(det_emit[g]), .emit_j(det_j[g]), .done(det_dn[g]));
      // the gate is registered: it says whether every queue of the group had count + in
      // flight < depth in the previous cycle, so the detector's
      // emit does not wait on the PEs' compares and their AND (the loop of issue 21); the
      // emit of the previous cycle is not counted, nor is an emit in the register before the
      // bank read, so each queue holds two slots more than depth (eie_pe). It opens at SETUP
      // (every queue empty, nothing in flight).
      logic gate_n;
      always_comb begin
        gate_n = 1'b1;
        for (int i = 0; i < P; i++) begin
          if (pe_active[i] && pe_grp[i*GW+:GW] == GW'(g) && !pe_ok[i]) gate_n = 1'b0;
        end
      end
      always_ff @(posedge clk) begin
        gate[g] <= gate_n || init;
      end
      /* verilator lint_off UNUSEDSIGNAL */
      logic [NXW-1:0] col;  // local column < NX: CW bits
      /* verilator lint_on UNUSEDSIGNAL */
      assign col = e_j[g*NXW+:NXW] >> log2g;
      assign e_col[g*CW+:CW] = col[CW-1:0];
      always_ff @(posedge clk) begin
        e_valid[g] <= det_emit[g];
        e_j[g*NXW+:NXW] <= det_j[g];
        bc_valid[g] <= e_valid[g];
        bc_col[g*CW+:CW] <= e_col[g*CW+:CW];
        bc_bank[g] <= e_j[g*NXW+:4];
        if (rst) begin
          e_valid[g] <= 1'b0;
          bc_valid[g] <= 1'b0;
        end
      end
      assign bc_x[g*XW+:XW] = bk_q[bc_bank[g]*XW+:XW];
    end

    for (b = 0; b < 16; b = b + 1) begin : g_bank
      logic [GW-1:0] owner;
      logic [3:0] bb;
      assign bb = b;
      assign owner = bb[GW-1:0] & ((GW'(1) << log2g) - GW'(1));
      assign bk_re[b] = e_valid[owner] && e_j[owner*NXW+:4] == bb;
      assign bk_raddr[b*LA+:LA] = e_j[owner*NXW+4+:LA];
    end

    for (p = 0; p < P; p = p + 1) begin : g_pe
      localparam [5:0] PI = p;
      logic [5:0] q_idx;
      logic my_bc;
      logic [CW-1:0] my_col, my_ecol;
      logic [XW-1:0] my_x;
      if (GSEL_HELD != 0) begin : g_gsel_held
        // the PE's row-PE index and active flag of the gathered layer, taken at the hand-off
        logic [5:0] q_g;
        logic act_g;
        always_ff @(posedge clk) begin
          if (g_start) begin
            q_g <= q_idx;
            act_g <= pe_active[p];
          end
        end
        assign pe_sel[p] = act_g && (q_g >> g_log2e) == gt_sel;
      end else begin : g_gsel
        assign pe_sel[p] = pe_active[p] && (q_idx >> log2e) == gt_sel;
      end
      assign pe_bc[p] = my_bc;
      assign pe_col[p*CW+:CW] = my_col;
      assign pe_x[p*XW+:XW] = my_x;
      assign pe_ecol[p*CW+:CW] = my_ecol;
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
            if ({4'd0, PI} >= rm[k]) gi_n = GW'(k);
          end
        end
        assign rk = rm[gi_n];
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
        assign my_ecol = e_col[gi*CW+:CW];
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
        logic [KDW-1:0] kd_n, kd;
        logic [GW-1:0] grp_r;
        logic [5:0] q_r;
        logic act_r;
        assign g_full = PI >> log2r;
        // the mapping changes only per layer: registered, so the bus selects, the gate and the
        // gather select see flip-flops, not the table's log2r (a high-fanout net); as with
        // ANYR, they hold the new layer's values from the second RUN cycle on, and the first
        // RUN cycle cannot need them (nothing in flight: every PE ok, my_bc 0)
        always_comb begin
          if (log2r <= 3'(KMIN)) kd_n = '0;
          else if (log2r >= 3'(KMIN + GW)) kd_n = KDW'(GW);
          else kd_n = KDW'(log2r - 3'(KMIN));
        end
        always_ff @(posedge clk) begin
          kd <= kd_n;
          grp_r <= g_full[GW-1:0];
          q_r <= PI & ((6'd1 << log2r) - 6'd1);
          act_r <= (PI >> (log2r + log2g)) == 6'd0;
        end
        assign q_idx = q_r;
        assign pe_active[p] = act_r;
        assign pe_grp[p*GW+:GW] = grp_r;
        always_comb begin
          my_bc = 1'b0;
          my_col = '0;
          my_ecol = '0;
          my_x = '0;
          for (int d = 0; d <= GW; d++) begin
            if (kd == KDW'(d)) begin
              my_bc = pe_active[p] && bc_valid[((p >> (KMIN + d)) % MAXG)];
              my_col = bc_col[((p >> (KMIN + d)) % MAXG)*CW+:CW];
              my_ecol = e_col[((p >> (KMIN + d)) % MAXG)*CW+:CW];
              my_x = bc_x[((p >> (KMIN + d)) % MAXG)*XW+:XW];
            end
          end
        end
      end
    end
  endgenerate
endmodule
`default_nettype wire
