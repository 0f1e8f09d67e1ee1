// eie_detector: leading-non-zero detector of one column group.
//
// Scans the non-zero bitmap of the layer's input in windows of 64 columns (window w holds
// columns 64w .. 64w+63). Each cycle it emits the first not yet taken non-zero column j of
// its group (j % G == g) below n_in, if the group's gate is open (no queue of the group
// could overflow); it moves to the next window in the same cycle when that was the window's
// last one of its group, and spends one cycle on a window with none. A window is scanned only
// when `avail` (for layer 0: its 4 lines of 16 inputs have arrived). Emitting j starts the
// read of its value from the activation banks (the broadcast happens the next cycle).
// The window's limit (which of its columns are below n_in, and whether any is) is not compared
// in the scan's cycle: it is kept in registers beside w (issue 21's timing levers), loaded from
// the same next values as w: window 0 of the next layer's n_in (n_nx) at SETUP, window w + 1 on
// a move. The limit mask and `taken` are one register (m: the window's columns below n_in not yet
// taken), so a column's scan bit is its bitmap bit and two flip-flops.
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
    localparam WA = $clog2(NX / 64 + 1)
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
    input  logic           avail,
    input  logic           gate,
    input  logic [   63:0] win,
    output logic [ WA-1:0] w,
    output logic           emit,
    output logic [NXW-1:0] emit_j,
    output logic           done
);
  // window index bits: enough for w and for n_in / 64
  localparam HW = (WA > NXW - 6) ? WA : NXW - 6;
  logic [63:0] m, m_n, bits, low;
  logic [ 5:0] k;
  logic        any, rest, live, live_n;
  logic [HW-1:0] w1, hi_n;
  logic [ 5:0] lo_n;

  // column 64 w + i is below n_in = 64 n_hi + n_lo when w < n_hi, or w == n_hi and i < n_lo:
  // one narrow compare of the window and a decode of n_lo, not 64 adders and compares; made for
  // the window the registers hold next (0 of the next layer at SETUP, else w + 1), so the scan
  // starts at flip-flops (m, live), not at this compare
  assign w1 = init ? HW'(0) : HW'(w + 1'b1);
  assign hi_n = init ? HW'(n_nx >> 6) : HW'(n_in >> 6);
  assign lo_n = init ? n_nx[5:0] : n_in[5:0];
  assign live_n = (w1 < hi_n) || (w1 == hi_n && lo_n != 6'd0);
  always_comb begin
    for (int i = 0; i < 64; i++) begin
      m_n[i] = (w1 < hi_n) || (w1 == hi_n && i[5:0] < lo_n);
    end
  end
  // done: the group is idle, or no column of window w is below n_in
  assign done = !gact || !live;

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
  assign any = bits != 64'd0;
  assign rest = (bits & ~low) != 64'd0;
  assign emit = run && !done && avail && any && gate;
  assign emit_j = NXW'({w, k});

  always_ff @(posedge clk) begin
    if (run && !done && avail) begin
      if (!any || (gate && !rest)) begin
        w <= w + 1'b1;
        m <= m_n;
        live <= live_n;
      end else if (gate) begin
        m <= m & ~low;
      end
    end
    if (init) begin
      w <= '0;
      m <= m_n;
      live <= live_n;
    end
  end
endmodule
`default_nettype wire
