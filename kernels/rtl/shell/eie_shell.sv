// eie_shell: a registered harness around eie_engine for place-and-route timing (docs/rtl.md,
// "Routed clock on the ECP5").
//
// Why: a routed Fmax of the engine alone would time its ports to and from package pins, and
// its 256-bit input and output buses do not fit the pins. Here every engine input comes from a
// shell register and every engine output goes into one, so each path nextpnr times for the
// clock starts and ends at a register next to (or inside) the engine: the engine's own
// register-to-register paths and its port logic between two register stages, not pin routing.
// - Inputs: a staging vector {ld_data, ld_addr, ld_pe, ld_sel, ld_we, in_data, in_valid,
//   start} of flip-flops, loaded one byte per cycle over a narrow port (wr_en, wr_addr,
//   wr_data). Each bit is writable, so no engine input is a constant the tools could fold.
// - Outputs: {out_data, out_mask, out_line, out_valid, in_ready, layer_o, state_o, done} into
//   a register, then XOR-folded four to one per registered stage down to one pin, so every
//   output bit stays observable (nothing can be pruned) and the fold adds one LUT level per
//   stage.
// - Reset: the pin goes through one register (a synchronous reset, as the engine expects).
// The engine's ports and parameters are unchanged; the parameters pass through.
module eie_shell #(
    parameter P = 16,
    parameter ANYR = 0,
    parameter MAXG = 8,
    parameter DMAX = 8,
    parameter NL = 4,
    parameter NX = 1024,
    parameter XW = 16,
    parameter WW = 8,
    parameter ACCW = 32,
    parameter CBW = 4,
    parameter IXW = 4,
    parameter ENT_D = 1024,
    parameter PTR_D = 512,
    parameter ACC_D = 64,
    parameter BIAS_D = 128,
    parameter OL = 16,
    parameter WALK = 1,
    parameter OVERLAP = 0,
    parameter CB_LUT = 0,
    parameter ACC_LUT = 0,
    parameter SKIP = 1,
    // derived (as in eie_engine)
    parameter NLINES = NX / 16,
    parameter LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    parameter LW = (NL > 1) ? $clog2(NL) : 1,
    // staging vector bits and bytes, output bits
    parameter IW = 2 + 16 * XW + 1 + 3 + 6 + 32 + 64,
    parameter NB = (IW + 7) / 8,
    parameter BW = $clog2(NB),
    parameter OW = 1 + 2 + LW + 1 + 1 + LA + 16 + 16 * XW
) (
    input  logic          clk,
    input  logic          rst_i,
    // narrow load port: byte wr_addr of the staging vector
    input  logic          wr_en,
    input  logic [BW-1:0] wr_addr,
    input  logic [   7:0] wr_data,
    // XOR signature of all engine outputs (registered)
    output logic          sig
);
  // fold widths: four to one per stage, five stages (OW <= 1024)
  localparam W1 = (OW + 3) / 4, W2 = (W1 + 3) / 4, W3 = (W2 + 3) / 4, W4 = (W3 + 3) / 4;

  initial begin
    if (OW > 1024) $error("eie_shell: the output fold has five stages (OW <= 1024)");
  end

  logic rst;
  always_ff @(posedge clk) rst <= rst_i;

  // ---------------- inputs: staging registers ----------------
  /* verilator lint_off UNUSEDSIGNAL */
  logic [8*NB-1:0] stage;  // the last byte's bits above IW are unused
  /* verilator lint_on UNUSEDSIGNAL */
  genvar b;
  generate
    for (b = 0; b < NB; b = b + 1) begin : g_byte
      always_ff @(posedge clk) begin
        if (wr_en && wr_addr == BW'(b)) stage[8*b+:8] <= wr_data;
      end
    end
  endgenerate

  logic start, in_valid, ld_we;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] ld_q_unused;  // no readback here
  /* verilator lint_on UNUSEDSIGNAL */
  logic [16*XW-1:0] in_data;
  logic [2:0] ld_sel;
  logic [5:0] ld_pe;
  logic [31:0] ld_addr;
  logic [63:0] ld_data;
  assign {ld_data, ld_addr, ld_pe, ld_sel, ld_we, in_data, in_valid, start} = stage[IW-1:0];

  // ---------------- the engine ----------------
  logic done, in_ready, out_valid;
  logic [1:0] state_o;
  logic [LW-1:0] layer_o;
  logic [LA-1:0] out_line;
  logic [15:0] out_mask;
  logic [16*XW-1:0] out_data;

  eie_engine #(
      .P(P), .ANYR(ANYR), .MAXG(MAXG), .DMAX(DMAX), .NL(NL), .NX(NX), .XW(XW), .WW(WW),
      .ACCW(ACCW), .CBW(CBW), .IXW(IXW), .ENT_D(ENT_D), .PTR_D(PTR_D), .ACC_D(ACC_D),
      .BIAS_D(BIAS_D), .OL(OL), .INIT_DIR(""), .WALK(WALK), .OVERLAP(OVERLAP),
      .CB_LUT(CB_LUT), .ACC_LUT(ACC_LUT), .SKIP(SKIP)
  ) u_engine (
      .clk(clk), .rst(rst), .start(start), .done(done), .state_o(state_o), .layer_o(layer_o),
      .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data), .out_valid(out_valid),
      .out_line(out_line), .out_mask(out_mask), .out_data(out_data), .ld_we(ld_we), .ld_bcast(1'b0), .start_layer('0),
      .ld_sel(ld_sel), .ld_pe(ld_pe), .ld_addr(ld_addr), .ld_data(ld_data),
      .ld_re(1'b0), .ld_q(ld_q_unused)
  );

  // ---------------- outputs: register, then a registered XOR fold ----------------
  logic [OW-1:0] out_q;
  always_ff @(posedge clk)
    out_q <= {out_data, out_mask, out_line, out_valid, in_ready, layer_o, state_o, done};

  // stage k: bit i is the XOR of bits 4i .. 4i+3 (those that exist) of stage k-1
  logic [W1-1:0] f1;
  logic [W2-1:0] f2;
  logic [W3-1:0] f3;
  logic [W4-1:0] f4;
  genvar i;
  generate
    for (i = 0; i < W1; i = i + 1) begin : g_f1
      localparam N = (OW - 4 * i < 4) ? OW - 4 * i : 4;
      always_ff @(posedge clk) f1[i] <= ^out_q[4*i+:N];
    end
    for (i = 0; i < W2; i = i + 1) begin : g_f2
      localparam N = (W1 - 4 * i < 4) ? W1 - 4 * i : 4;
      always_ff @(posedge clk) f2[i] <= ^f1[4*i+:N];
    end
    for (i = 0; i < W3; i = i + 1) begin : g_f3
      localparam N = (W2 - 4 * i < 4) ? W2 - 4 * i : 4;
      always_ff @(posedge clk) f3[i] <= ^f2[4*i+:N];
    end
    for (i = 0; i < W4; i = i + 1) begin : g_f4
      localparam N = (W3 - 4 * i < 4) ? W3 - 4 * i : 4;
      always_ff @(posedge clk) f4[i] <= ^f3[4*i+:N];
    end
  endgenerate
  always_ff @(posedge clk) sig <= ^f4;
endmodule
