// eie_ram: simple dual-port RAM, one synchronous read port and one write port.
//
// The read data is registered (q holds its value while re is low), as a block RAM's output
// is; there is no combinational path through the memory. A read and a write of the same
// address in one cycle return the old data (read-first): the engine never relies on it (the
// PE forwards its last accumulator write, the gather's read-and-clear wants the old data).
// INIT_FILE (a hex file, one word a line) initialises the contents with $readmemh; "" leaves
// them to the write port (the run-time loader).

// the image of one bank of a split memory (eie_ram SPLIT): the unsplit memory's rows hold 2 BL
// words; lane l of row r of bank b is lane 2 l + b of its row r
`define EIE_RAM_SPLIT_INIT \
        logic [2*WIDTH-1:0] img[0:DEPTH-1]; \
        initial begin \
          $readmemh(INIT_FILE, img); \
          for (int r = 0; r < DEPTH; r++) \
            for (int l = 0; l < BL; l++) \
              mem[r][l*LANE_W+:LANE_W] = img[r][(2 * l + SPLIT_BANK)*LANE_W+:LANE_W]; \
        end

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
    // 1: this RAM is bank SPLIT_BANK of a memory of rows of 2 * WIDTH bits split in two by
    // word-address parity (eie_pe's entry RAM of wide rows with WALK = 2): INIT_FILE is the
    // unsplit memory's image, and this RAM takes the words (LANE_W bits) of its parity of each
    // row; 0: INIT_FILE is this RAM's own image
    parameter SPLIT = 0,
    parameter SPLIT_BANK = 0,
    // bits of one word of a row (a row holds WIDTH / LANE_W words; SPLIT only)
    parameter LANE_W = WIDTH,
    // address bits, derived
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    // SPLIT: words per row
    localparam BL = WIDTH / LANE_W
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
      if (SPLIT == 0) begin : g_init
        initial begin
          if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
        end
      end else if (INIT_FILE != "") begin : g_split_init
        `EIE_RAM_SPLIT_INIT
      end
      always_ff @(posedge clk) begin
        if (re) q <= mem[raddr];
        if (we) mem[waddr] <= wdata;
      end
    end else begin : g_dist
      (* ram_style = "distributed" *) logic [WIDTH-1:0] mem[0:DEPTH-1];
      if (SPLIT == 0) begin : g_init
        initial begin
          if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
        end
      end else if (INIT_FILE != "") begin : g_split_init
        `EIE_RAM_SPLIT_INIT
      end
      always_ff @(posedge clk) begin
        if (re) q <= mem[raddr];
        if (we) mem[waddr] <= wdata;
      end
    end
  endgenerate
endmodule
`default_nettype wire
