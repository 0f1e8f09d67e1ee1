// eie_act_store: the activation store, the current layer's input vector.
//
// 16 banks of XW-bit words (column j in bank j % 16 at line j / 16), one read port per bank
// (the broadcast's reads), and a non-zero bitmap in registers (NX bits, read by the detectors
// 64 at a time). Written a line at a time: by the input port in layer 0 (all 16 words), else
// by the gather (the words of out_mask: layer l's outputs are layer l+1's inputs).
`default_nettype none
module eie_act_store #(
    // activations held (a multiple of 64)
    parameter NX = 1024,
    // activation bits
    parameter XW = 16,
    localparam NLINES = NX / 16,
    localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1
) (
    input  logic             clk,
    // reads: bank b reads line rd_addr[b] when rd_en[b]; rd_q[b] the next cycle
    input  logic [     15:0] rd_en,
    input  logic [16*LA-1:0] rd_addr,
    output logic [16*XW-1:0] rd_q,
    // input port write (layer 0): a whole line
    input  logic             in_we,
    input  logic [   LA-1:0] in_line,
    input  logic [16*XW-1:0] in_data,
    // gather write: the words of g_mask
    input  logic [     15:0] g_mask,
    input  logic [   LA-1:0] g_line,
    input  logic [16*XW-1:0] g_data,
    // which words of g_data are non-zero (the gather's registered flags)
    input  logic [     15:0] g_nz,
    // non-zero bitmap: bit j set when activation j is non-zero
    output logic [   NX-1:0] nz,
    // the bitmap's write at this edge: line wr_line, its words wr_mask, which are non-zero (the
    // detectors' window registers follow it)
    output logic [   LA-1:0] wr_line,
    output logic [     15:0] wr_mask,
    output logic [     15:0] wr_nz
);
  logic [16*XW-1:0] wr_data;
  logic [15:0] in_nz;
  assign wr_mask = in_we ? 16'hffff : g_mask;
  assign wr_line = in_we ? in_line : g_line;
  assign wr_data = in_we ? in_data : g_data;
  // which words are non-zero, of each source before the select: the input port's write enable
  // (its ready, a compare of the line count) meets one multiplexer, not the words' OR trees (the
  // detectors' window registers take wr_nz in the same cycle; the same bits)
  always_comb begin
    for (int i = 0; i < 16; i++) begin
      in_nz[i] = in_data[i*XW+:XW] != '0;
    end
  end
  assign wr_nz = in_we ? in_nz : g_nz;

  genvar b;
  generate
    for (b = 0; b < 16; b = b + 1) begin : g_bank
      eie_ram #(.BLOCK(NLINES * XW > 1024 ? 1 : 0), .DEPTH(NLINES), .WIDTH(XW)) u_bank (
          .clk(clk), .re(rd_en[b]), .raddr(rd_addr[b*LA+:LA]), .q(rd_q[b*XW+:XW]),
          .we(wr_mask[b]), .waddr(wr_line), .wdata(wr_data[b*XW+:XW]));
    end
  endgenerate

  always_ff @(posedge clk) begin
    for (int L = 0; L < NLINES; L++) begin
      for (int i = 0; i < 16; i++) begin
        if (wr_mask[i] && wr_line == LA'(L)) nz[L*16+i] <= wr_nz[i];
      end
    end
  end
endmodule
`default_nettype wire
