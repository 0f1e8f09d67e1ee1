// eie_pe_acc: one accumulator memory of a PE (eie_pe.sv) with its row valid bits.
//
// Two reads: stage D's (a_re, the row it accumulates into) and the gather's (g_re, the row it
// issues); one write (stage E). Each read returns the word and the row's valid bit (written since
// the bank's last clear) the next cycle; a write in the read's cycle is not seen (stage E forwards
// it). clr (the layer's SETUP) clears the valid bits, so a row counts as zero until the layer
// writes it, whatever the RAM holds.
// PP = 0: one RAM whose one read port is shared (the gather reads only while the PE is idle).
// PP = 1 (ping-pong; the engine's OVERLAP = 2): two banks. Stage D, stage E and clr use bank rb
// (the running layer's), the gather reads bank gb (the gathered layer's); the engine keeps
// rb != gb while both are busy, so a bank has one reader at a time. In LUT RAM the two banks are
// one memory with two read ports (the bank the top address bit); in block RAM two RAMs.
`default_nettype none
module eie_pe_acc #(
    parameter ACC_D = 64,
    parameter ACCW = 32,
    // 1: block RAM (eie_ram BLOCK)
    parameter BLOCK = 0,
    parameter PP = 0,
    localparam RW = (ACC_D > 1) ? $clog2(ACC_D) : 1
) (
    input  logic            clk,
    input  logic            clr,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic            rb,
    input  logic            gb,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic            a_re,
    input  logic [  RW-1:0] a_addr,
    input  logic            g_re,
    input  logic [  RW-1:0] g_addr,
    input  logic            we,
    input  logic [  RW-1:0] waddr,
    input  logic [ACCW-1:0] wdata,
    output logic [ACCW-1:0] qa,
    output logic            oka,
    output logic [ACCW-1:0] qg,
    output logic            okg
);
  generate
    if (PP == 0) begin : g_one
      logic [ACC_D-1:0] ok;
      logic re, q_ok;
      logic [RW-1:0] raddr;
      assign re = a_re || g_re;
      assign raddr = g_re ? g_addr : a_addr;
      eie_ram #(.BLOCK(BLOCK), .DEPTH(ACC_D), .WIDTH(ACCW), .INIT_FILE("")) u_ram (
          .clk(clk), .re(re), .raddr(raddr), .q(qa), .we(we), .waddr(waddr), .wdata(wdata));
      assign qg = qa;
      assign oka = q_ok;
      assign okg = q_ok;
      always_ff @(posedge clk) begin
        if (re) q_ok <= ok[raddr];
        if (we) ok[waddr] <= 1'b1;
        if (clr) ok <= '0;
      end
    end else begin : g_pp
      logic [ACC_D-1:0] ok0, ok1;
      if (BLOCK != 0) begin : g_blk
        // block RAM: two RAMs (a block RAM has two ports, the banks need three accesses)
        logic [ACCW-1:0] q0, q1;
        logic g0, g1, re0, re1;
        logic [RW-1:0] ra0, ra1;
        assign g0 = g_re && !gb;
        assign g1 = g_re && gb;
        assign re0 = (a_re && !rb) || g0;
        assign re1 = (a_re && rb) || g1;
        assign ra0 = g0 ? g_addr : a_addr;
        assign ra1 = g1 ? g_addr : a_addr;
        eie_ram #(.BLOCK(1), .DEPTH(ACC_D), .WIDTH(ACCW), .INIT_FILE("")) u_ram0 (
            .clk(clk), .re(re0), .raddr(ra0), .q(q0), .we(we && !rb), .waddr(waddr), .wdata(wdata));
        eie_ram #(.BLOCK(1), .DEPTH(ACC_D), .WIDTH(ACCW), .INIT_FILE("")) u_ram1 (
            .clk(clk), .re(re1), .raddr(ra1), .q(q1), .we(we && rb), .waddr(waddr), .wdata(wdata));
        assign qa = rb ? q1 : q0;
        assign qg = gb ? q1 : q0;
      end else begin : g_lut
        // LUT RAM: one memory of both banks (the bank is the address's top bit) with two read
        // ports, which the xc7's multi-port LUT RAM (RAM32M/RAM64M) gives without a word mux
        // after the banks; read-first, as eie_ram
        (* ram_style = "distributed" *) logic [ACCW-1:0] mem[0:(2 << RW)-1];
        always_ff @(posedge clk) begin
          if (we) mem[{rb, waddr}] <= wdata;
          if (a_re) qa <= mem[{rb, a_addr}];
          if (g_re) qg <= mem[{gb, g_addr}];
        end
      end
      always_ff @(posedge clk) begin
        if (a_re) oka <= rb ? ok1[a_addr] : ok0[a_addr];
        if (g_re) okg <= gb ? ok1[g_addr] : ok0[g_addr];
        if (we && !rb) ok0[waddr] <= 1'b1;
        if (we && rb) ok1[waddr] <= 1'b1;
        if (clr && !rb) ok0 <= '0;
        if (clr && rb) ok1 <= '0;
      end
    end
  endgenerate
endmodule
`default_nettype wire
