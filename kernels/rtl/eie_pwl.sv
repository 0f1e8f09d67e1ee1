// eie_pwl: a piecewise-linear function of one fixed-point input, as flow.eie.elementwise.PWLTable
// evaluates it (bit for bit): the table T holds f at x_k = -R + k * 2**-SL, k = 0..N
// (N = 2**(RL + 1 + SL), R = 2**RL), each rounded to the 16-bit output type. For an input of IF
// fractional bits (IF >= SL), off = x + R (in input LSBs), k = off >> (IF - SL), r its low IF - SL bits:
//     y = T[k] + ((T[k+1] - T[k]) * r + 2**(IF-SL-1)) >> (IF - SL)      0 <= k < N
//     y = T[0] for k < 0, T[N] for k >= N                                 (clamped)
// The ROM holds the pairs {T[k+1], T[k]} (N words of 32 bits, TABLE_FILE written by
// flow.rtl.lstm_cell from the same PWLTable), so one read gives both ends of a segment and the
// clamps need no other read (k < 0 reads pair 0 and takes T[0]; k >= N reads pair N - 1 and
// takes T[N]).
// Pipeline, latency 3: cycle 0 x (the ROM read is issued), 1 the pair: difference x remainder,
// 2 round, shift, add or clamp; y is registered (valid 3 cycles after x).
`default_nettype none
module eie_pwl #(
    // input bits and fractional bits (two's complement)
    parameter IW = 16,
    parameter IF = 10,
    // range 2**RL, segments of 2**-SL
    parameter RL = 4,
    parameter SL = 4,
    // {T[k+1], T[k]} pairs, one 8-hex-digit word a line ("" for none: simulation tests only)
    parameter TABLE_FILE = "",
    localparam N = 1 << (RL + 1 + SL),
    localparam AW = RL + 1 + SL,
    localparam SH = IF - SL,
    localparam RW = (SH > 0) ? SH : 1,
    localparam OFFW = ((IW > RL + IF + 1) ? IW : RL + IF + 1) + 2
) (
    input  logic        clk,
    input  logic [IW-1:0] x,
    output logic [  15:0] y
);
  initial begin
    if (IF < SL) $error("eie_pwl: the input needs at least SL fractional bits");
  end
  logic signed [OFFW-1:0] off, k;
  assign off = OFFW'($signed(x)) + (OFFW'(1) <<< (RL + IF));
  assign k = off >>> SH;
  logic below, above;
  assign below = k < 0;
  assign above = k >= OFFW'(N);
  logic [AW-1:0] kc;
  assign kc = below ? '0 : above ? AW'(N - 1) : k[AW-1:0];
  logic [RW-1:0] r;
  assign r = (SH > 0) ? off[RW-1:0] : '0;

  logic [31:0] q;
  eie_ram #(.BLOCK(1), .DEPTH(N), .WIDTH(32), .INIT_FILE(TABLE_FILE)) u_rom (
      .clk(clk), .re(1'b1), .raddr(kc), .q(q), .we(1'b0), .waddr({AW{1'b0}}), .wdata(32'd0));

  logic below1, above1, below2, above2;
  logic [RW-1:0] r1;
  logic signed [15:0] t0_2, t1_2;
  logic signed [16:0] d;
  logic signed [RW+17:0] m, m2;
  assign d = 17'($signed(q[31:16])) - 17'($signed(q[15:0]));
  assign m = (RW + 18)'(d) * $signed({1'b0, r1});
  logic signed [RW+17:0] half;
  /* verilator lint_off UNUSEDSIGNAL */
  logic signed [RW+17:0] interp;  // |interp| <= |T[k+1] - T[k]|: 16 bits
  /* verilator lint_on UNUSEDSIGNAL */
  assign half = (SH > 0) ? ((RW + 18)'(1) <<< (SH - 1)) : '0;
  assign interp = (m2 + half) >>> SH;

  always_ff @(posedge clk) begin
    below1 <= below;
    above1 <= above;
    r1 <= r;
    below2 <= below1;
    above2 <= above1;
    t0_2 <= $signed(q[15:0]);
    t1_2 <= $signed(q[31:16]);
    m2 <= m;
    y <= below2 ? t0_2 : above2 ? t1_2 : t0_2 + interp[15:0];
  end
endmodule
`default_nettype wire
