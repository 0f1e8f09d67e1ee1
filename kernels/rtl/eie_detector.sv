// eie_detector: leading-non-zero detector of one column group.
//
// Scans the non-zero bitmap of the layer's input in windows of 64 columns (window w holds
// columns 64w .. 64w+63). Each cycle it emits the first not yet taken non-zero column j of
// its group (j % G == g) below n_in, if the group's gate is open (no queue of the group
// could overflow); it moves to the next window in the same cycle when that was the window's
// last one of its group, and spends one cycle on a window with none. A window is scanned only
// when `avail` (for layer 0: its 4 lines of 16 inputs have arrived). Emitting j starts the
// read of its value from the activation banks (the broadcast happens the next cycle).
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
    input  logic [NXW-1:0] n_in,
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
  logic [63:0] taken, limit, bits, low;
  logic [ 5:0] k;
  logic        any, rest;
  logic        active;
  logic [HW-1:0] w_x, n_hi;
  logic [ 5:0] n_lo;

  assign active = gact;
  // column 64 w + i is below n_in = 64 n_hi + n_lo when w < n_hi, or w == n_hi and i < n_lo:
  // one narrow compare of the window and a decode of n_lo, not 64 adders and compares
  assign w_x = HW'(w);
  assign n_hi = HW'(n_in >> 6);
  assign n_lo = n_in[5:0];
  assign done = !active || w_x > n_hi || (w_x == n_hi && n_lo == 6'd0);

  always_comb begin
    for (int i = 0; i < 64; i++) begin
      limit[i] = (w_x < n_hi) || (w_x == n_hi && i[5:0] < n_lo);
    end
    bits = win & OWN & gmask & limit & ~taken;
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
        taken <= 64'd0;
      end else if (gate) begin
        taken <= taken | low;
      end
    end
    if (init) begin
      w <= '0;
      taken <= 64'd0;
    end
  end
endmodule
`default_nettype wire
