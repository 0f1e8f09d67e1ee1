`default_nettype none
// eie_axis_fifo: synchronous first-word-fall-through FIFO with a registered RAM read (block RAM
// when large), valid/ready on both sides, and the number of words held (for room checks).
// The read port registers mem[rd] into the output register: full throughput, one cycle from
// write to out_valid. flush empties it in one cycle.
module eie_axis_fifo #(
    // word bits
    parameter WIDTH = 64,
    // words the RAM holds (the output register holds one more)
    parameter DEPTH = 512,
    // derived
    parameter AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              flush,
    input  wire              in_valid,
    output logic             in_ready,
    input  wire  [WIDTH-1:0] in_data,
    output logic             out_valid,
    input  wire              out_ready,
    output logic [WIDTH-1:0] out_data,
    // words held: RAM + output register
    output logic [   AW+1:0] count
);
  logic [WIDTH-1:0] mem[0:DEPTH-1];
  logic [AW:0] wr, rd;  // one extra bit: full when the low bits are equal and the top differs
  logic [AW:0] used;
  logic ren, wen;
  assign used = wr - rd;
  assign in_ready = used != (AW + 1)'(DEPTH);
  assign wen = in_valid && in_ready;
  assign ren = used != '0 && (!out_valid || out_ready);
  assign count = {1'b0, used} + {{(AW + 1) {1'b0}}, out_valid};

  always_ff @(posedge clk) begin
    if (wen) mem[wr[AW-1:0]] <= in_data;
    if (ren) out_data <= mem[rd[AW-1:0]];
  end
  always_ff @(posedge clk) begin
    if (wen) wr <= wr + 1'b1;
    if (ren) rd <= rd + 1'b1;
    if (ren) out_valid <= 1'b1;
    else if (out_ready) out_valid <= 1'b0;
    if (rst || flush) begin
      wr <= '0;
      rd <= '0;
      out_valid <= 1'b0;
    end
  end

  initial begin
    if ((DEPTH & (DEPTH - 1)) != 0) $error("eie_axis_fifo: DEPTH must be a power of two");
  end
endmodule
`default_nettype wire
