// eie_ram: simple dual-port RAM, one synchronous read port and one write port.
//
// The read data is registered (q holds its value while re is low), as a block RAM's output
// is; there is no combinational path through the memory. A read and a write of the same
// address in one cycle return the old data (read-first): the engine never relies on it (the
// PE forwards its last accumulator write, the gather's read-and-clear wants the old data).
// INIT_FILE (a hex file, one word a line) initialises the contents with $readmemh; "" leaves
// them to the write port (the run-time loader).
`default_nettype none
module eie_ram #(
    // words
    parameter DEPTH = 16,
    // bits per word
    parameter WIDTH = 8,
    // $readmemh image, "" for none
    parameter INIT_FILE = "",
    // 1: block RAM (ram_style "block"), 0: distributed (LUT) RAM; chosen by the instantiating
    // module with the rule of flow.rtl.estimate (so the estimate and Yosys agree)
    parameter BLOCK = 0,
    // address bits, derived
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
    input  logic             clk,
    input  logic             re,
    input  logic [   AW-1:0] raddr,
    output logic [WIDTH-1:0] q,
    input  logic             we,
    input  logic [   AW-1:0] waddr,
    input  logic [WIDTH-1:0] wdata
);
  generate
    if (BLOCK) begin : g_block
      (* ram_style = "block" *) logic [WIDTH-1:0] mem[0:DEPTH-1];
      initial begin
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) begin
        if (re) q <= mem[raddr];
        if (we) mem[waddr] <= wdata;
      end
    end else begin : g_dist
      (* ram_style = "distributed" *) logic [WIDTH-1:0] mem[0:DEPTH-1];
      initial begin
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) begin
        if (re) q <= mem[raddr];
        if (we) mem[waddr] <= wdata;
      end
    end
  endgenerate
endmodule
`default_nettype wire
