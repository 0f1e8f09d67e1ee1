// eie_lstm_cell: the LSTM's element-wise unit for one lane, bit for bit flow.eie.elementwise
// (ElementwiseUnit.step with its PWLTables): per hidden unit
//     i, f, o = sigmoid(gate), g = tanh(gate)                   16-bit act_t, 14 fraction bits
//     c' = cell_t(f * c + i * g)     exact products and sum, one cast (C_RND, C_SAT)
//     h' = h_t(o * tanh(c'))         tanh of cell_t, exact product, one cast (H_RND, H_SAT)
// The four gate pre-activations of a unit arrive one per cycle in Keras's order i, f, g, o
// (in_gate 0..3, any gaps between them), as the gather delivers four local rows of a PE in
// turn; c (the unit's cell state, cell_t) comes with gate o. One gate evaluator (a sigmoid and a
// tanh eie_pwl, the tag picks one) and one tanh evaluator for c'.
// Pipeline from gate o presented (cycle 0): 3 the activations (eie_pwl), 4 f * c and i * g
// registered, 5 c' registered, 8 tanh(c'), 9 o * tanh(c') registered, 10 h' and c' out
// (out_valid): LATENCY = 10 cycles, one unit per 4 cycles per lane (one gate a cycle).
`default_nettype none
module eie_lstm_cell #(
    // gate_t: bits and fractional bits
    parameter GW = 16,
    parameter GF = 10,
    // cell_t
    parameter CLW = 16,
    parameter CLF = 11,
    parameter C_RND = 1,
    parameter C_SAT = 1,
    // h_t (the engine's activation type: h is fed back as an input)
    parameter HW = 16,
    parameter HF = 12,
    parameter H_RND = 1,
    parameter H_SAT = 1,
    // the tables' shapes (flow.eie.elementwise DEFAULT_SIGMOID, DEFAULT_TANH) and images
    parameter SIG_RL = 4,
    parameter SIG_SL = 4,
    parameter TANH_RL = 3,
    parameter TANH_SL = 5,
    parameter SIG_FILE = "",
    parameter TANH_FILE = "",
    // act_t fractional bits (16-bit tables, 2 integer bits)
    localparam AF = 14,
    localparam MF = AF + ((AF > CLF) ? AF : CLF),  // the sum's fraction bits
    localparam SW = ((16 + CLW > 32) ? 16 + CLW : 32) + ((AF > CLF) ? AF - CLF : CLF - AF) + 2  // the sum's bits
) (
    input  logic           clk,
    input  logic           rst,
    input  logic           in_valid,
    input  logic [    1:0] in_gate,
    input  logic [ GW-1:0] in_x,
    input  logic [CLW-1:0] in_c,
    output logic           out_valid,
    // a unit is in the pipeline (out_valid included)
    output logic           busy,
    output logic [ HW-1:0] out_h,
    output logic [CLW-1:0] out_c
);
  initial begin
    if (CLF < TANH_SL) $error("eie_lstm_cell: cell_t needs at least TANH_SL fractional bits");
    if (HF >= 2 * AF) $error("eie_lstm_cell: h_t must have fewer than 28 fractional bits");
  end
  // ---- gate activations (cycle 3) ----
  logic [15:0] sig_y, tanh_y, tc_y;
  eie_pwl #(.IW(GW), .IF(GF), .RL(SIG_RL), .SL(SIG_SL), .TABLE_FILE(SIG_FILE)) u_sig (
      .clk(clk), .x(in_x), .y(sig_y));
  eie_pwl #(.IW(GW), .IF(GF), .RL(TANH_RL), .SL(TANH_SL), .TABLE_FILE(TANH_FILE)) u_tanh (
      .clk(clk), .x(in_x), .y(tanh_y));

  logic [2:0] v_d;  // in_valid delayed 1..3
  logic [1:0] g_d[0:2];
  logic [CLW-1:0] c_d[0:2];
  logic signed [15:0] a_i, a_f, a_g, a_o4;
  logic signed [15:0] act3;
  assign act3 = (g_d[2] == 2'd2) ? tanh_y : sig_y;
  logic o3;
  assign o3 = v_d[2] && g_d[2] == 2'd3;

  // ---- cell update (cycles 4, 5) ----
  logic v4, v5;
  logic signed [16+CLW-1:0] p_fc;
  logic signed [31:0] p_ig;
  logic signed [SW-1:0] sum4;
  assign sum4 = (SW'(p_fc) <<< (MF - AF - CLF)) + (SW'(p_ig) <<< (MF - 2 * AF));
  logic [CLW-1:0] c_n, c5;
  eie_cast #(.IW(SW), .SHIFT(MF - CLF), .OW(CLW), .RND(C_RND), .SAT(C_SAT)) u_ccast (
      .x(sum4), .y(c_n));

  // ---- h (cycles 8, 9, 10) ----
  eie_pwl #(.IW(CLW), .IF(CLF), .RL(TANH_RL), .SL(TANH_SL), .TABLE_FILE(TANH_FILE)) u_tc (
      .clk(clk), .x(c5), .y(tc_y));
  logic [2:0] v_e;  // v5 delayed 1..3 (cycles 6..8)
  logic signed [15:0] o_e[0:3];  // o at cycles 5..8
  logic [CLW-1:0] c_e[0:3];  // c' at cycles 6..9
  logic v9;
  logic signed [31:0] p_h;
  logic [HW-1:0] h_n;
  eie_cast #(.IW(32), .SHIFT(2 * AF - HF), .OW(HW), .RND(H_RND), .SAT(H_SAT)) u_hcast (
      .x(p_h), .y(h_n));

  assign busy = (|v_d) || v4 || v5 || (|v_e) || v9 || out_valid;

  always_ff @(posedge clk) begin
    v_d <= {v_d[1:0], in_valid};
    g_d[0] <= in_gate;
    g_d[1] <= g_d[0];
    g_d[2] <= g_d[1];
    c_d[0] <= in_c;
    c_d[1] <= c_d[0];
    c_d[2] <= c_d[1];
    if (v_d[2]) begin
      case (g_d[2])
        2'd0: a_i <= act3;
        2'd1: a_f <= act3;
        2'd2: a_g <= act3;
        default: ;
      endcase
    end
    // cycle 3 -> 4: the products (a_i, a_g, a_f hold the unit's earlier gates)
    v4 <= o3;
    p_fc <= a_f * $signed(c_d[2]);
    p_ig <= a_i * a_g;
    a_o4 <= act3;
    // 4 -> 5: c'
    v5 <= v4;
    c5 <= c_n;
    o_e[0] <= a_o4;
    // 5 -> 8: tanh(c')
    v_e <= {v_e[1:0], v5};
    o_e[1] <= o_e[0];
    o_e[2] <= o_e[1];
    o_e[3] <= o_e[2];
    c_e[0] <= c5;
    for (int s = 1; s < 4; s++) c_e[s] <= c_e[s-1];
    // 8 -> 9: o * tanh(c'); 9 -> 10: h'
    v9 <= v_e[2];
    p_h <= o_e[3] * $signed(tc_y);
    out_valid <= v9;
    out_h <= h_n;
    out_c <= c_e[3];
    if (rst) begin
      v_d <= '0;
      v4 <= 1'b0;
      v5 <= 1'b0;
      v_e <= '0;
      v9 <= 1'b0;
      out_valid <= 1'b0;
    end
  end
endmodule
`default_nettype wire
