// eie_detector: leading-non-zero detector of one column group.
//
// Scans the non-zero bitmap of the layer's input in windows of 64 columns (window w holds
// columns 64w .. 64w+63). Each cycle it emits the first not yet taken non-zero column j of
// its group (j % G == g) below n_in, if the group's gate is open (no queue of the group
// could overflow); it moves to the next window in the same cycle when that was the window's
// last one of its group, and spends one cycle on a window with none. A window's columns are
// scanned as their lines arrive (`am`: which of its 4 lines of 16 inputs have, in order: the input
// port in layer 0, a gather between layers with OVERLAP), and it is left only when all four
// have (`avail`): the first non-zero of the window is emitted when it lies in an arrived line,
// which, the lines arriving in order, is when any arrived line has one (issue 21: a detector no
// longer waits for a whole window). Emitting j starts the
// read of its value from the activation banks (the broadcast happens the next cycle).
// The window's limit (which of its columns are below n_in, and whether any is) is not compared
// in the scan's cycle: it is kept in registers beside w (issue 21's timing levers), loaded from
// the same next values as w: window 0 of the next layer's n_in (n_nx) at SETUP, window w + 1 on
// a move. The limit mask and `taken` are one register (m: the window's columns below n_in not yet
// taken), so a column's scan bit is its bitmap bit and two flip-flops. The window's bitmap bits
// are a register too (win), loaded the same way: window 0 at SETUP, window w + 1 on a move (nzx:
// the bitmap's window wx), else window w again; each with the store's write of that edge (a line
// of 16 words: the input port in layer 0, the gather between layers) merged in, so win is the
// bitmap's window w in every cycle and the scan does not wait for the window multiplexer.
`default_nettype none
module eie_detector #(
    // the window bits this group can own (eie_broadcast's WMASK): a constant, so a synthesis that
    // keeps the module boundary drops the other bits' logic and `taken` flip-flops
    parameter logic [63:0] OWN = '1,
    // activations the store holds (a multiple of 64)
    parameter NX = 1024,
    // derived
    localparam NXW = $clog2(NX + 1),
    // window counter bits: w reaches NX / 64 (past the last window) when n_in > NX - 64
    localparam WA = $clog2(NX / 64 + 1),
    localparam LA = $clog2(NX / 16)
) (
    input  logic           clk,
    input  logic           init,
    input  logic           run,
    // the layer's decodes, registered by eie_layer_table at SETUP: the window bits of this
    // group g ((i & (G - 1)) == g), the group is active (g < G)
    input  logic [   63:0] gmask,
    input  logic           gact,
    // the layer's n_in (registered at SETUP), and during SETUP the value it is loaded with
    input  logic [NXW-1:0] n_in,
    input  logic [NXW-1:0] n_nx,
    // all four lines of window w have arrived; which of them have (a prefix: line q of the window
    // is line 4 w + q of the store)
    input  logic           avail,
    input  logic [    3:0] am,
    input  logic           gate,
    // the window the registers load next (wx: 0 at SETUP, else w + 1) and the bitmap's window wx
    // (nz as registered), and the store's write at this edge: line wr_line, its words wr_mask,
    // which of them are non-zero (wr_nz)
    output logic [ WA-1:0] wx,
    input  logic [   63:0] nzx,
    input  logic [ LA-1:0] wr_line,
    input  logic [   15:0] wr_mask,
    input  logic [   15:0] wr_nz,
    output logic [ WA-1:0] w,
    output logic           emit,
    output logic [NXW-1:0] emit_j,
    output logic           done
);
  // window index bits: enough for w and for n_in / 64
  localparam HW = (WA > NXW - 6) ? WA : NXW - 6;
  logic [63:0] m, m_n, bits, low, win, win_n, win_stay, win_next;
  logic [ 3:0] hit_w, hit_x;
  logic [WA-1:0] wr_w;
  logic        mv, take;
  logic [ 5:0] k;
  logic        any, rest, live, live_n;
  logic [ 3:0] l_any, l_two;  // per line of the window: a non-zero, two or more
  // the scan's "any" and "two or more" bits, by a tree of pairs (level v holds 64 >> v nodes)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] t_any[0:6];
  logic [63:0] t_two[0:6];
  /* verilator lint_on UNUSEDSIGNAL */
  logic [HW-1:0] wl, hi_n;
  logic [ 5:0] lo_n;

  // column 64 w + i is below n_in = 64 n_hi + n_lo when w < n_hi, or w == n_hi and i < n_lo:
  // one narrow compare of the window and a decode of n_lo, not 64 adders and compares; made for
  // the window the registers hold next (0 of the next layer at SETUP, else w + 1), so the scan
  // starts at flip-flops (m, live), not at this compare
  assign wx = init ? '0 : w + 1'b1;
  assign wl = HW'(wx);
  assign hi_n = init ? HW'(n_nx >> 6) : HW'(n_in >> 6);
  assign lo_n = init ? n_nx[5:0] : n_in[5:0];
  assign live_n = (wl < hi_n) || (wl == hi_n && lo_n != 6'd0);
  always_comb begin
    for (int i = 0; i < 64; i++) begin
      m_n[i] = (wl < hi_n) || (wl == hi_n && i[5:0] < lo_n);
    end
  end
  // done: the group is idle, or no column of window w is below n_in
  assign done = !gact || !live;

  // the window register's next value: window wx on a move or at SETUP, else window w, with the
  // write of this edge merged in when its line is in that window (line q of window x is 4 x + q)
  assign wr_w = WA'(wr_line >> 2);
  always_comb begin
    for (int q = 0; q < 4; q++) begin
      hit_w[q] = wr_w == w && wr_line[1:0] == 2'(q);
      hit_x[q] = wr_w == wx && wr_line[1:0] == 2'(q);
    end
    for (int i = 0; i < 64; i++) begin
      win_stay[i] = (wr_mask[i%16] && hit_w[i/16]) ? wr_nz[i%16] : win[i];
      win_next[i] = (wr_mask[i%16] && hit_x[i/16]) ? wr_nz[i%16] : nzx[i];
    end
    // the scan's late decision (mv) is the last select
    win_n = ((mv || init) ? win_next : win_stay) & OWN;
  end

  always_comb begin
    bits = win & OWN & gmask & m;
    // the first non-zero as a one-hot word (a carry chain), then its index by OR trees (each
    // index bit an OR of 32 bits), instead of a 64-deep priority chain
    low = bits & (~bits + 64'd1);
    k = 6'd0;
    for (int i = 0; i < 64; i++) begin
      if (low[i]) k = k | i[5:0];
    end
  end
  // any: a column to emit; rest: another one after it (two or more bits), so the window is kept.
  // Both from a tree of LUTs beside the carry chain (for each node: any of its bits, two or more
  // of them), not from bits & ~low after the chain: the move (win, m, w) does not wait for the
  // chain, which only makes the emitted column and `taken` (the same function: no cycle changes)
  always_comb begin
    t_any[0] = bits;
    t_two[0] = '0;
    for (int v = 1; v <= 6; v++) begin
      t_any[v] = '0;
      t_two[v] = '0;
      for (int n = 0; n < (64 >> v); n++) begin
        t_any[v][n] = t_any[v-1][2*n] || t_any[v-1][2*n+1];
        t_two[v][n] = t_two[v-1][2*n] || t_two[v-1][2*n+1] || (t_any[v-1][2*n] && t_any[v-1][2*n+1]);
      end
    end
  end
  // any and rest over the arrived lines only: the tree's level 4 holds one node a line; the
  // arrived lines are a prefix, so the chain's first non-zero is in one of them when any is
  assign l_any = t_any[4][3:0] & am;
  assign l_two = t_two[4][3:0] & am;
  assign any = |l_any;
  assign rest = |l_two || (l_any[0] && |l_any[3:1]) || (l_any[1] && |l_any[3:2]) || (l_any[2] && l_any[3]);
  assign emit = run && !done && any && gate;
  assign emit_j = NXW'({w, k});
  // move to window w + 1 once all its lines arrived (none left, or the last one emitted), else
  // take the first one (the window is kept while lines are missing)
  assign mv = run && !done && avail && (!any || (gate && !rest));
  assign take = run && !done && any && gate && (rest || !avail);

  always_ff @(posedge clk) begin
    win <= win_n;
    if (mv) begin
      w <= wx;
      m <= m_n;
      live <= live_n;
    end else if (take) begin
      m <= m & ~low;
    end
    if (init) begin
      w <= '0;
      m <= m_n;
      live <= live_n;
    end
  end
endmodule
`default_nettype wire
