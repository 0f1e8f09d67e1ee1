// eie_lstm: the engine's element-wise lanes for a recurrent (LSTM) layer (flow.eie.lstm).
//
// The gather's E lanes deliver, for a recurrent entry, the four gates of E hidden units on four
// consecutive gather writes (eie_control's recurrent issue order: gate i, f, g, o of the units
// u0 .. u0 + E - 1, u0 = chunk * E); lane l feeds eie_lstm_cell l with the value of store
// position l (g_data, already requantised to gate_t by eie_requant). Each lane keeps the cell
// states of its units (c RAM, CELL_D words, at the unit's chunk index; zero at step 0), and
// LATENCY cycles after gate o writes h' as input column hb + u of the store, one write of E
// columns (in one line: hb and u0 are multiples of E): hb = 16 xl (the next step's h_{t-1}) or 0
// at the last step (h_T as the next layer's input, columns 0 .. H - 1; the output port gets it
// when the entry is the last). Units >= H (padding) are not written.
`default_nettype none
module eie_lstm #(
    parameter OL = 16,
    parameter XW = 16,
    parameter NX = 1024,
    // cell states per lane (hidden units / E)
    parameter CELL_D = 64,
    // types (eie_lstm_cell)
    parameter GF = 10,
    parameter CLW = 16,
    parameter CLF = 11,
    parameter C_RND = 1,
    parameter C_SAT = 1,
    parameter HW = 16,
    parameter HF = 12,
    parameter H_RND = 1,
    parameter H_SAT = 1,
    parameter SIG_FILE = "",
    parameter TANH_FILE = "",
    localparam NXW = $clog2(NX + 1),
    localparam NLINES = NX / 16,
    localparam LA = (NLINES > 1) ? $clog2(NLINES) : 1,
    localparam CA = (CELL_D > 1) ? $clog2(CELL_D) : 1
) (
    input  logic             clk,
    input  logic             rst,
    // a step's SETUP: the unit counters restart
    input  logic             init,
    // a gate value in every lane (the gather's write cycle of a recurrent entry)
    input  logic             en,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [16*XW-1:0] g_data,  // positions 0 .. OL - 1 (lane l: position l)
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [      2:0] log2e,
    input  logic             first_step,
    input  logic             last_step,
    input  logic [  NXW-5:0] xl,
    input  logic [  NXW-1:0] n_units,
    output logic             busy,
    // store write (the words of w_mask in line w_line)
    output logic             w_valid,
    output logic [     15:0] w_mask,
    output logic [   LA-1:0] w_line,
    output logic [16*XW-1:0] w_data
);
  logic [1:0] k_in;
  logic [CA-1:0] cidx, wc;
  logic [OL-1:0] ov;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [OL-1:0] ob;  // the lanes run in step: lane 0's busy is every lane's
  /* verilator lint_on UNUSEDSIGNAL */
  logic [HW-1:0] h[0:OL-1];
  assign busy = ob[0];
  assign w_valid = ov[0];

  genvar l;
  generate
    for (l = 0; l < OL; l = l + 1) begin : g_lane
      logic [CLW-1:0] c_q, c_in, c_out;
      eie_ram #(.BLOCK(CELL_D * CLW > 1024 ? 1 : 0), .DEPTH(CELL_D), .WIDTH(CLW)) u_c (
          .clk(clk), .re(1'b1), .raddr(cidx), .q(c_q), .we(ov[l]), .waddr(wc), .wdata(c_out));
      assign c_in = first_step ? '0 : c_q;
      logic [XW-1:0] x;  // a gate_t value, sign-extended to XW by eie_requant
      assign x = g_data[l*XW+:XW];
      eie_lstm_cell #(
          .GW(XW), .GF(GF), .CLW(CLW), .CLF(CLF), .C_RND(C_RND), .C_SAT(C_SAT), .HW(HW), .HF(HF),
          .H_RND(H_RND), .H_SAT(H_SAT), .SIG_FILE(SIG_FILE), .TANH_FILE(TANH_FILE)
      ) u_cell (
          .clk(clk), .rst(rst), .in_valid(en), .in_gate(k_in), .in_x(x), .in_c(c_in),
          .out_valid(ov[l]), .busy(ob[l]), .out_h(h[l]), .out_c(c_out));
    end
  endgenerate

  // the write: units u0w .. u0w + E - 1 (u0w = wc * E) at columns hb + u
  logic [NXW:0] u0w;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NXW:0] col0;  // < NX: LA + 4 bits
  /* verilator lint_on UNUSEDSIGNAL */
  logic [3:0] e_mask;
  assign u0w = (NXW + 1)'(wc) << log2e;
  assign col0 = (last_step ? '0 : {1'b0, xl, 4'd0}) + u0w;
  assign e_mask = (4'd1 << log2e) - 4'd1;
  assign w_line = col0[LA+3:4];
  always_comb begin
    for (int i = 0; i < 16; i++) begin
      w_mask[i] = w_valid && ((4'(i) & ~e_mask) == col0[3:0]) &&
                  (u0w + (NXW + 1)'(4'(i) & e_mask) < {1'b0, n_units});
      /* verilator lint_off WIDTH */
      w_data[i*XW+:XW] = XW'($signed(h[4'(i) & e_mask]));  // sign-extended h_t
      /* verilator lint_on WIDTH */
    end
  end

  always_ff @(posedge clk) begin
    if (en) begin
      k_in <= k_in + 2'd1;
      if (k_in == 2'd3) cidx <= cidx + 1'b1;
    end
    if (w_valid) wc <= wc + 1'b1;
    if (init || rst) begin
      k_in <= '0;
      cidx <= '0;
      wc <= '0;
    end
  end
endmodule
`default_nettype wire
