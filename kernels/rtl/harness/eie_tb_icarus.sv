// 4-state smoke testbench of eie_engine for Icarus Verilog (iverilog -g2012): X is not hidden
// behind zero here, so a state read before it was set shows as x in the outputs (or as a hang).
//
// Run in a folder holding the engine's $readmemh images (INIT_DIR ".") and in.hex (N_IMG x
// N_IN activations, one XW-bit hex word a line). Writes out.txt: per image a line
// "image <i> cycles <period> layers <c0> <c1> ..." (the harness's period: non-idle cycles + 1)
// and one line "y <i> <index> <hex>" per output (hex with x digits when unknown). Prints
// "TIMEOUT ..." and stops when an image takes more than TIMEOUT cycles.
`timescale 1ns / 1ps
`default_nettype none
module eie_tb_icarus #(
    // engine parameters (flow.rtl.params.EngineParams)
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
    // images, inputs and outputs per image, layers of the network
    parameter N_IMG = 1,
    parameter N_IN = 16,
    parameter N_OUT = 16,
    parameter N_LAYERS = 1,
    // cycles an image may take
    parameter TIMEOUT = 200000
);
  localparam NLINES = NX / 16;
  localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1;
  localparam LW = (NL > 1) ? $clog2(NL) : 1;

  logic clk = 1'b0;
  logic rst = 1'b1;
  logic start = 1'b0;
  logic in_valid;
  logic [16*XW-1:0] in_data;
  wire done, in_ready, out_valid;
  wire [1:0] state_o;
  wire [LW-1:0] layer_o;
  wire [LA-1:0] out_line;
  wire [15:0] out_mask;
  wire [16*XW-1:0] out_data;

  eie_engine #(
      .P(P), .ANYR(ANYR), .MAXG(MAXG), .DMAX(DMAX), .NL(NL), .NX(NX), .XW(XW), .WW(WW),
      .ACCW(ACCW), .CBW(CBW), .IXW(IXW), .ENT_D(ENT_D), .PTR_D(PTR_D), .ACC_D(ACC_D),
      .BIAS_D(BIAS_D), .OL(OL), .INIT_DIR("."), .WALK(WALK), .OVERLAP(OVERLAP)
  ) dut (
      .clk(clk), .rst(rst), .start(start), .done(done), .state_o(state_o), .layer_o(layer_o),
      .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data), .out_valid(out_valid),
      .out_line(out_line), .out_mask(out_mask), .out_data(out_data),
      .ld_we(1'b0), .ld_bcast(1'b0), .start_layer('0), .ld_sel(3'd0), .ld_pe(6'd0), .ld_addr(32'd0), .ld_data(64'd0), .ld_re(1'b0), .ld_q());

  always #5 clk = ~clk;

  logic [XW-1:0] xmem[0:N_IMG*N_IN-1];
  integer img, line, fo, t, busy, li, b;
  logic fire;
  integer lcyc[0:N_LAYERS-1];

  always_comb begin
    in_valid = line < (N_IN + 15) / 16;
    for (int k = 0; k < 16; k++) begin
      in_data[k*XW+:XW] = (line * 16 + k < N_IN) ? xmem[img*N_IN+line*16+k] : '0;
    end
  end

  initial begin
    $readmemh("in.hex", xmem);
    fo = $fopen("out.txt", "w");
    img = 0;
    line = (N_IN + 15) / 16;
    repeat (2) @(posedge clk);
    rst <= 1'b0;
    @(posedge clk);
    for (img = 0; img < N_IMG; img = img + 1) begin
      line = 0;
      busy = 0;
      for (li = 0; li < N_LAYERS; li = li + 1) lcyc[li] = 0;
      start <= 1'b1;
      for (t = 0; t < TIMEOUT; t = t + 1) begin
        #1;  // inputs of this cycle settled (the clock rose 4 ns ago)
        if (state_o !== 2'd0) begin
          busy = busy + 1;
          lcyc[layer_o] = lcyc[layer_o] + 1;
        end
        if (out_valid === 1'b1) begin
          for (b = 0; b < 16; b = b + 1) begin
            if (out_mask[b] && out_line * 16 + b < N_OUT)
              $fwrite(fo, "y %0d %0d %h\n", img, out_line * 16 + b, out_data[b*XW+:XW]);
          end
        end else if (out_valid !== 1'b0) begin
          $fwrite(fo, "y %0d -1 x\n", img);
        end
        fire = in_valid && in_ready === 1'b1;
        @(posedge clk);
        start <= 1'b0;
        #1;
        if (fire) line = line + 1;
        if (done === 1'b1) t = TIMEOUT + 1;
        else @(negedge clk);
      end
      if (t == TIMEOUT) begin
        $display("TIMEOUT image %0d: state %0d layer %0d", img, state_o, layer_o);
        $fclose(fo);
        $finish;
      end
      $fwrite(fo, "image %0d cycles %0d layers", img, busy + 1);
      for (li = 0; li < N_LAYERS; li = li + 1) $fwrite(fo, " %0d", lcyc[li]);
      $fwrite(fo, "\n");
      @(negedge clk);
    end
    $fclose(fo);
    $finish;
  end
endmodule
`default_nettype wire
