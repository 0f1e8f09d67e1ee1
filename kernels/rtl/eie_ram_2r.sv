// eie_ram_2r: two reads per cycle, port A reading or writing at one address and port B
// reading: the shape of a true dual-port block RAM with one port read-only, or of a LUT RAM with
// a second read port (RAM64X1D), so Yosys maps it to one memory (eie_pe with WALK = 2: the
// codebook's two codes a cycle, the entry RAM's words cur and cur + 1; the loader writes through
// port A while the PE is idle). Read data registered as in eie_ram; a write of port A also
// registers the old word into q_a (read-first, as the block RAM's port does: holding q_a over
// a write would cost a register and a multiplexer per bit beside the RAM, and nothing uses
// q_a after a load write before the next read).
`default_nettype none
module eie_ram_2r #(
    parameter DEPTH = 16,
    parameter WIDTH = 8,
    parameter INIT_FILE = "",
    parameter BLOCK = 0,
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
    input  logic             clk,
    // port A: read (re_a) or write (we_a) at addr_a
    input  logic             re_a,
    input  logic             we_a,
    input  logic [   AW-1:0] addr_a,
    input  logic [WIDTH-1:0] wdata_a,
    output logic [WIDTH-1:0] q_a,
    // port B: read
    input  logic             re_b,
    input  logic [   AW-1:0] addr_b,
    output logic [WIDTH-1:0] q_b
);
  generate
    if (BLOCK) begin : g_block
      (* ram_style = "block" *) logic [WIDTH-1:0] mem[0:DEPTH-1];
      initial begin
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) begin
        if (re_a || we_a) q_a <= mem[addr_a];
        if (we_a) mem[addr_a] <= wdata_a;
      end
      always_ff @(posedge clk) begin
        if (re_b) q_b <= mem[addr_b];
      end
    end else begin : g_dist
      (* ram_style = "distributed" *) logic [WIDTH-1:0] mem[0:DEPTH-1];
      initial begin
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) begin
        if (re_a || we_a) q_a <= mem[addr_a];
        if (we_a) mem[addr_a] <= wdata_a;
      end
      always_ff @(posedge clk) begin
        if (re_b) q_b <= mem[addr_b];
      end
    end
  endgenerate
endmodule
`default_nettype wire
