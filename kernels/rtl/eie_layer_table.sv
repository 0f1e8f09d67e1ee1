// eie_layer_table: the layer table (NL layers x 16 words of 32 bits, written through the load
// port) and the fields of the current layer, registered in its SETUP cycle.
//
// Registers, not a RAM: SETUP reads all fields of a layer in one cycle. Beside the fields, the
// input line count (n_lines) and the detectors' group masks (gmask, gact) are registered at the
// same edge from the same next values, so the input handshake and a detector's scan start at
// flip-flops, not at an adder or a decode of n_in and log2g (issue 21's timing levers); a
// decode of the registered fields, made a cycle later, would miss the first RUN cycle, in which
// a detector may emit and the input port is ready.
// Word F of layer l is at l * 16 + F (flow.rtl.images.TABLE). rmul holds R * k for k < MAXG (ANYR's group mapping).
// A recurrent (LSTM) entry (flags bit 5) also has: word 14 the time steps T, word 15 the x lines
// per step (low half: h_{t-1} starts at column 16 * xl) and the hidden units H (high half).
`default_nettype none
module eie_layer_table #(
    // layers the table holds
    parameter NL = 4,
    // activations the store holds (sizes n_in, n_out are < NX + 1)
    parameter NX = 1024,
    // column groups supported (R * k for k < MAXG)
    parameter MAXG = 8,
    // activation queue capacity per PE (the depth field)
    parameter DMAX = 8,
    // activation bits (the min and max fields)
    parameter XW = 16,
    // per-PE memory depths (the base address and row fields)
    parameter PTR_D = 512,
    parameter ACC_D = 64,
    parameter BIAS_D = 128,
    // folder of table.mem ("" for none)
    parameter INIT_DIR = "",
    // 1: the recurrent fields are registered (an engine with LSTM lanes); 0: they are constant 0
    parameter LSTM = 0,
    localparam LW = (NL > 1) ? $clog2(NL) : 1,
    localparam NXW = $clog2(NX + 1),
    localparam DW = $clog2(DMAX + 1),
    localparam PA = (PTR_D > 1) ? $clog2(PTR_D) : 1,
    localparam RW = (ACC_D > 1) ? $clog2(ACC_D) : 1,
    localparam BA = (BIAS_D > 1) ? $clog2(BIAS_D) : 1
) (
    input  logic              clk,
    // the SETUP cycle of `layer`: its fields are registered
    input  logic              setup,
    input  logic [    LW-1:0] layer,
    // the step being set up is a recurrent entry's first (eie_control; stable from SETUP on)
    input  logic              first_step,
    // load port: word ld_addr of the table when ld_we
    input  logic              ld_we,
    input  logic [  LW+3:0]   ld_addr,
    input  logic [    31:0]   ld_data,
    // the current layer's fields; n_det: the detectors' n_in (the n_in field, or for a recurrent
    // entry's step 0 its x columns 16 xl: h_{-1} = 0, the store's h columns are stale), and
    // n_det_nx the value it is loaded with during SETUP (the detectors register their window
    // limit of window 0 from it at the same edge)
    output logic [   NXW-1:0] n_det,
    output logic [   NXW-1:0] n_det_nx,
    output logic [   NXW-1:0] n_out,
    output logic [       2:0] log2g,
    output logic [       2:0] log2r,  // trailing zeros of R (log2 R when R is a power of two)
    output logic [    PA-1:0] ptr_base,
    output logic [    BA-1:0] bias_base,
    output logic [      RW:0] rows,
    output logic              relu,
    output logic              rnd,
    output logic              sat,
    output logic              sgn,
    output logic              last,
    output logic [       5:0] shift,
    output logic [       5:0] width,
    output logic [    XW-1:0] omin,
    output logic [    XW-1:0] omax,
    output logic [    DW-1:0] depth,
    output logic [       7:0] cb_slot,  // codebook slot (field 14), used when CB_SLOTS > 0
    output logic [       6:0] r_val,  // R (PEs per group), used when ANYR
    output logic [MAXG*10-1:0] rmul,  // R * k at bits 10k, used when ANYR
    // recurrent entry: flag, time steps, x lines per step, hidden units
    output logic              rec,
    output logic [      15:0] steps,
    output logic [   NXW-5:0] xl,
    output logic [   NXW-1:0] n_units,
    // input lines of a RUN: the step's xl for a recurrent entry, else ceil(n_in / 16)
    // (eie_control's input port; registered here so no adder precedes its compare)
    output logic [   NXW-5:0] n_lines,
    // its next value (the one SETUP registers), for eie_control's `in_more` flag at the same edge
    output logic [   NXW-5:0] n_lines_nx,
    // detector decodes (eie_detector): bit g MAXG + r of gmask says that window column i with
    // i % MAXG == r is in group g ((r & (G - 1)) == g: G <= MAXG divides MAXG, so i % MAXG
    // decides), gact[g] is g < G
    output logic [MAXG*MAXG-1:0] gmask,
    output logic [  MAXG-1:0] gact
);
  localparam F_NIN = 0, F_NOUT = 1, F_LOG2G = 2, F_LOG2R = 3, F_PTR = 4, F_BIAS = 5,
      F_ROWS = 6, F_FLAGS = 7, F_SHIFT = 8, F_WIDTH = 9, F_MIN = 10, F_MAX = 11, F_DEPTH = 12,
      F_R = 13, F_CB = 14, F_STEPS = 14, F_XL = 15;  // word 14: codebook slot [7:0], steps [31:16]

  (* mem2reg *) logic [31:0] tbl[0:(1<<LW)*16-1];
  initial begin
    if (INIT_DIR != "") $readmemh({INIT_DIR, "/table.mem"}, tbl);
  end
  always_ff @(posedge clk) begin
    if (ld_we) tbl[ld_addr] <= ld_data;
  end

  logic [LW+3:0] tb;
  assign tb = {layer, 4'd0};
  assign n_det_nx = (LSTM != 0 && tbl[tb+F_FLAGS][5] && first_step) ? {tbl[tb+F_XL][NXW-5:0], 4'd0} :
                    tbl[tb+F_NIN][NXW-1:0];

  assign n_lines_nx = (LSTM != 0 && tbl[tb+F_FLAGS][5]) ? tbl[tb+F_XL][NXW-5:0] :
                      tbl[tb+F_NIN][NXW-1:4] + {{(NXW - 5) {1'b0}}, tbl[tb+F_NIN][3:0] != 4'd0};

  always_ff @(posedge clk) begin
    if (setup) begin
      n_det <= n_det_nx;
      n_out <= tbl[tb+F_NOUT][NXW-1:0];
      log2g <= tbl[tb+F_LOG2G][2:0];
      log2r <= tbl[tb+F_LOG2R][2:0];
      ptr_base <= tbl[tb+F_PTR][PA-1:0];
      bias_base <= tbl[tb+F_BIAS][BA-1:0];
      rows <= tbl[tb+F_ROWS][RW:0];
      relu <= tbl[tb+F_FLAGS][0];
      rnd <= tbl[tb+F_FLAGS][1];
      sat <= tbl[tb+F_FLAGS][2];
      sgn <= tbl[tb+F_FLAGS][3];
      last <= tbl[tb+F_FLAGS][4];
      shift <= tbl[tb+F_SHIFT][5:0];
      width <= tbl[tb+F_WIDTH][5:0];
      omin <= tbl[tb+F_MIN][XW-1:0];
      omax <= tbl[tb+F_MAX][XW-1:0];
      depth <= tbl[tb+F_DEPTH][DW-1:0];
      r_val <= tbl[tb+F_R][6:0];
      cb_slot <= tbl[tb+F_CB][7:0];
      rec <= (LSTM != 0) && tbl[tb+F_FLAGS][5];
      steps <= (LSTM != 0) ? tbl[tb+F_STEPS][31:16] : 16'd0;
      xl <= (LSTM != 0) ? tbl[tb+F_XL][NXW-5:0] : '0;
      n_units <= (LSTM != 0) ? tbl[tb+F_XL][16+:NXW] : '0;
      n_lines <= n_lines_nx;
      for (int g = 0; g < MAXG; g++) begin
        gact[g] <= (g >> tbl[tb+F_LOG2G][2:0]) == 0;
        for (int r = 0; r < MAXG; r++) begin
          gmask[g*MAXG+r] <= (6'(r) & ((6'd1 << tbl[tb+F_LOG2G][2:0]) - 6'd1)) == 6'(g);
        end
      end
      // R * k by shift-and-add (k < 16: R, 2R, 4R, 8R as the bits of k select), no DSP48
      for (int k = 0; k < MAXG; k++) begin
        rmul[k*10+:10] <= ((k & 1) != 0 ? 10'(tbl[tb+F_R][6:0]) : 10'd0) +
                          ((k & 2) != 0 ? 10'(tbl[tb+F_R][6:0]) << 1 : 10'd0) +
                          ((k & 4) != 0 ? 10'(tbl[tb+F_R][6:0]) << 2 : 10'd0) +
                          ((k & 8) != 0 ? 10'(tbl[tb+F_R][6:0]) << 3 : 10'd0);
      end
    end
  end
endmodule
`default_nettype wire
