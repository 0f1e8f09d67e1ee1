// eie_control: the engine's state machine and the gather's issue counters.
//
// Per inference: IDLE -> (start) per layer SETUP (1 cycle: the layer's fields are registered)
// -> RUN (layer 0's input lines arrive; ends one cycle after the detectors are done, no
// broadcast is in flight and every PE is idle, as the registered run_done is seen) -> GATHER
// (one chunk of E rows per cycle: local row gr, chunk gs of R / E; then a drain of the 5-stage
// gather pipeline) -> SETUP of the next layer, or IDLE with a done pulse after the last.
// Issue (cycle 0) reads the PEs' accumulators and biases, 1 registers the terms (gt_valid),
// 2 and 3 sum the lanes, 4 requantises, 5 writes the store and the output (g_valid, g_i0: the
// chunk's first output row).
// A recurrent (LSTM) layer (rec) runs SETUP, RUN, GATHER once per time step (step 0 .. steps-1):
// RUN takes the step's xl input lines; GATHER issues, per group of four local rows 4j .. 4j+3
// (the gates i, f, g, o of a hidden unit, flow.eie.lstm), chunk by chunk the four rows in turn
// (4j, 4j+1, 4j+2, 4j+3 of chunk 0, then of chunk 1, ...), so the element-wise lanes get a
// unit's four gates on consecutive cycles; its drain also waits for the lanes (ew_busy). After
// the last step the next layer's SETUP follows, as after a Dense layer.
// OVERLAP = 1 (Dense engines, issue 21's lever 3): the next layer's SETUP follows the cycle of
// the gather's last issue, not its drain; the drain's five stages run beside that SETUP and the
// next RUN (the gather's fields are held by the engine from the hand-off, g_start). The next
// layer's detectors then see its input lines arrive as the gather writes them, as layer 0 sees
// the input port's: arr_lines (whole lines written: (i0 + E) / 16 of the last chunk written) and
// arr_all (the layer's last chunk written); its RUN ends only after arr_all. The last layer
// drains as before, then done.
// OVERLAP = 2 (the PEs' accumulators ping-pong, eie_pe PP): the next layer's SETUP follows the
// hand-off itself, so the whole gather (issue and drain) runs beside the next SETUP and RUN; the
// gather's counters and fields are its own (taken at the hand-off), acc_rb / acc_gb name the
// accumulator banks of the running layer and of the gather (swapped at each hand-off).
`default_nettype none
module eie_control #(
    // layers the table holds
    parameter NL = 4,
    // activations the store holds
    parameter NX = 1024,
    // 1: any R (running row base, chunks R / E), 0: R a power of two (shifts)
    parameter ANYR = 0,
    // accumulator and bias depths (local rows, bias addresses)
    parameter ACC_D = 64,
    parameter BIAS_D = 128,
    // 1: recurrent entries (the step counter and the gate-by-gate issue); 0: Dense only
    parameter LSTM = 0,
    // 1: the next layer's SETUP and RUN overlap the gather's drain; 2: its whole gather (issue
    // and drain; the PEs' accumulators ping-pong); Dense only: LSTM = 0
    parameter OVERLAP = 0,
    localparam LW = (NL > 1) ? $clog2(NL) : 1,
    localparam NXW = $clog2(NX + 1),
    localparam RW = (ACC_D > 1) ? $clog2(ACC_D) : 1,
    localparam BA = (BIAS_D > 1) ? $clog2(BIAS_D) : 1
) (
    input  logic           clk,
    input  logic           rst,
    input  logic           start,
    // table index of the inference's first layer (sampled with start)
    input  logic [ LW-1:0] start_layer,
    output logic           done,
    output logic [    1:0] state,
    output logic [ LW-1:0] layer,
    // the current layer is the inference's first (input from the port)
    output logic           first,
    // SETUP and RUN cycles
    output logic           setup,
    output logic           run,
    // input port (layer 0's lines): handshake, lines taken
    input  logic           in_valid,
    output logic           in_ready,
    output logic           in_fire,
    output logic [NXW-5:0] in_lines,
    // the layer's fields; n_lines: its input lines (eie_layer_table, registered at SETUP)
    input  logic [NXW-5:0] n_lines,
    // the value n_lines takes at the SETUP edge (eie_layer_table's next value)
    input  logic [NXW-5:0] n_lines_nx,
    input  logic [    2:0] log2r,
    input  logic [    2:0] log2e,
    input  logic [    6:0] r_val,
    input  logic [   RW:0] rows,
    input  logic [ BA-1:0] bias_base,
    input  logic           last,
    // recurrent entry: flag, time steps, x lines per step; the element-wise lanes are busy
    input  logic           rec,
    input  logic [   15:0] steps,
    input  logic           ew_busy,
    output logic           first_step,
    output logic           last_step,
    // RUN's end: detectors done, no broadcast in flight, PEs idle
    input  logic           det_done,
    input  logic           bc_busy,
    input  logic           pe_busy,
    // gather issue (to every PE) and term select (cycle 1)
    output logic           gi_valid,
    output logic [ RW-1:0] gi_row,
    output logic [ BA-1:0] gi_bias_addr,
    output logic           gt_valid,
    output logic [    5:0] gt_sel,
    // gather write (cycle 5): valid and the chunk's first output row
    output logic           g_valid,
    output logic [  NXW:0] g_i0,
    // the values g_valid and g_i0 take at this edge (the gather registers its store-write mask
    // from them, so the mask is a flip-flop in cycle 5)
    output logic           g_valid_nx,
    output logic [  NXW:0] g_i0_nx,
    // the hand-off RUN -> GATHER (the engine registers the gather's fields)
    output logic           g_start,
    // the current layer's input lines arrived (OVERLAP: written by the previous gather) and all
    output logic [NXW-5:0] arr_lines,
    output logic           arr_all,
    // OVERLAP = 2: the accumulator banks of the running layer and of the gather
    output logic           acc_rb,
    output logic           acc_gb
);
  localparam S_IDLE = 2'd0, S_SETUP = 2'd1, S_RUN = 2'd2, S_GATHER = 2'd3;

  logic [15:0] step;
  logic [1:0] gk;  // recurrent issue: the gate (local row 4j + gk) of the chunk
  assign first_step = step == 16'd0;
  assign last_step = step + 16'd1 >= steps;
  assign setup = state == S_SETUP;
  assign run = state == S_RUN;
  logic in_all;
  assign in_all = in_lines == n_lines;

  logic run_done, run_done_q;
  logic [RW:0] gr;
  logic [5:0] gs, nchunk_last;
  logic issued_all;
  logic v1, v2, v3, v4, v5;
  logic [NXW:0] i0_1, i0_2, i0_3, i0_4, i0_5, i0_issue, rbase;

  // OVERLAP: the previous gather's writes (whole lines of its chunks, and its last chunk)
  logic [NXW-5:0] wlines;
  logic wall;
  logic [NXW-5:0] ln_issue, ln1, ln2, ln3, ln4, ln5;
  logic fin_issue, fin1, fin2, fin3, fin4, fin5;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NXW:0] ie_issue;  // its whole lines: bits NXW .. 4
  /* verilator lint_on UNUSEDSIGNAL */
  assign arr_lines = first ? in_lines : wlines;
  assign arr_all = first ? in_all : (OVERLAP == 0 || wall);
  assign run_done = det_done && !bc_busy && !pe_busy && arr_all;
  assign g_start = state == S_RUN && run_done_q;
  // in_more == (in_lines < n_lines) in RUN, a flip-flop updated with in_lines (loaded at SETUP
  // from the table's next n_lines, stepped by in_fire): the input handshake, and the store write
  // and detector window after it, start at a register, not at a line-count compare
  logic in_more;
  assign in_ready = state == S_RUN && first && in_more;
  assign in_fire = in_valid && in_ready;
  // chunks per local row - 1: R / E - 1 (E divides R)
  // the gather's fields: with OVERLAP = 2 its own copy (taken at the hand-off: the next SETUP
  // loads the table's while it issues), else the table's
  logic [RW:0] u_rows;
  logic [6:0] u_rval;
  logic [2:0] u_log2r, u_log2e;
  logic [BA-1:0] u_bbase;
  generate
    if (OVERLAP == 2) begin : g_gf
      always_ff @(posedge clk) begin
        if (g_start) begin
          u_rows <= rows;
          u_rval <= r_val;
          u_log2r <= log2r;
          u_log2e <= log2e;
          u_bbase <= bias_base;
        end
      end
    end else begin : g_gt
      assign u_rows = rows;
      assign u_rval = r_val;
      assign u_log2r = log2r;
      assign u_log2e = log2e;
      assign u_bbase = bias_base;
    end
  endgenerate
  assign nchunk_last = (ANYR != 0) ? 6'(u_rval >> u_log2e) - 6'd1 : (6'd1 << (u_log2r - u_log2e)) - 6'd1;
  // the issue: from the hand-off to the last chunk (OVERLAP = 2: in any state)
  assign gi_valid = (OVERLAP == 2 || state == S_GATHER) && !issued_all;
  logic [RW-1:0] g_row;
  assign g_row = (LSTM != 0 && rec) ? gr[RW-1:0] + RW'(gk) : gr[RW-1:0];
  assign gi_row = g_row;
  assign gi_bias_addr = u_bbase + {{(BA - RW) {1'b0}}, g_row};
  // first output row of the chunk: gr * R (rbase, a running sum when ANYR) + gs * E
  assign i0_issue = ((ANYR != 0) ? rbase : ({{(NXW - RW) {1'b0}}, gr} << u_log2r)) +
                    ({{(NXW - 5) {1'b0}}, gs} << u_log2e);
  // the chunk's end i0 + E: its whole lines, clamped to the store's (NX / 16 fits NXW - 4 bits)
  assign ie_issue = i0_issue + ((NXW + 1)'(1) << u_log2e);
  assign ln_issue = (ie_issue[NXW:4] > (NXW - 3)'(NX / 16)) ? (NXW - 4)'(NX / 16) : ie_issue[NXW-1:4];
  assign fin_issue = gs == nchunk_last && gr + 1'b1 == u_rows;
  assign gt_valid = v1;
  assign g_valid = v5;
  assign g_i0 = i0_5;
  assign g_valid_nx = v4 && !rst;
  assign g_i0_nx = i0_4;

  always_ff @(posedge clk) begin
    done <= 1'b0;
    case (state)
      S_IDLE: begin
        if (start) begin
          layer <= start_layer;
          first <= 1'b1;
          step <= '0;
          state <= S_SETUP;
        end
      end
      S_SETUP: begin
        in_lines <= '0;
        in_more <= n_lines_nx != '0;
        run_done_q <= 1'b0;
        state <= S_RUN;
      end
      S_RUN: begin
        run_done_q <= run_done;
        if (in_fire) begin
          in_lines <= in_lines + 1'b1;
          in_more <= {1'b0, in_lines} + 1'b1 < {1'b0, n_lines};
        end
        if (run_done_q) begin
          wlines <= '0;
          wall <= 1'b0;
          if (OVERLAP == 2 && !last) begin
            // the next layer's SETUP now; this layer's whole gather runs beside it
            layer <= layer + 1'b1;
            first <= 1'b0;
            step <= '0;
            state <= S_SETUP;
          end else begin
            state <= S_GATHER;
          end
        end
      end
      S_GATHER: begin
        if (!issued_all) begin
          // OVERLAP = 1: at the last chunk the next layer's SETUP; this gather drains beside it
          if (OVERLAP == 1 && !(LSTM != 0 && rec) && fin_issue && !last) begin
            layer <= layer + 1'b1;
            first <= 1'b0;
            step <= '0;
            state <= S_SETUP;
          end
        end else if (!(v1 || v2 || v3 || v4 || v5 || (LSTM != 0 && ew_busy))) begin
          if (LSTM != 0 && rec && !last_step) begin
            step <= step + 16'd1;
            state <= S_SETUP;
          end else if (last) begin
            state <= S_IDLE;
            done  <= 1'b1;
          end else begin
            layer <= layer + 1'b1;
            first <= 1'b0;
            step <= '0;
            state <= S_SETUP;
          end
        end
      end
      default: state <= S_IDLE;
    endcase
    // the gather's issue: its counters start at the hand-off, then one chunk a cycle
    if (g_start) begin
      rbase <= '0;
      gr <= '0;
      gs <= '0;
      gk <= '0;
      issued_all <= 1'b0;
      if (OVERLAP == 2) begin
        acc_gb <= acc_rb;
        acc_rb <= !acc_rb;
      end
    end else if (gi_valid && LSTM != 0 && rec) begin
      if (gk != 2'd3) begin
        gk <= gk + 2'd1;
      end else begin
        gk <= '0;
        if (gs == nchunk_last) begin
          gs <= '0;
          gr <= gr + (RW + 1)'(4);
          if (gr + (RW + 1)'(4) == u_rows) issued_all <= 1'b1;
        end else begin
          gs <= gs + 1'b1;
        end
      end
    end else if (gi_valid) begin
      if (gs == nchunk_last) begin
        gs <= '0;
        gr <= gr + 1'b1;
        rbase <= rbase + {{(NXW - 6) {1'b0}}, u_rval};
        if (gr + 1'b1 == u_rows) issued_all <= 1'b1;
      end else begin
        gs <= gs + 1'b1;
      end
    end
    v1 <= gi_valid;
    v2 <= v1;
    v3 <= v2;
    v4 <= v3;
    v5 <= v4;
    i0_1 <= i0_issue;
    i0_2 <= i0_1;
    i0_3 <= i0_2;
    i0_4 <= i0_3;
    i0_5 <= i0_4;
    ln1 <= ln_issue;
    ln2 <= ln1;
    ln3 <= ln2;
    ln4 <= ln3;
    ln5 <= ln4;
    fin1 <= gi_valid && fin_issue;
    fin2 <= fin1;
    fin3 <= fin2;
    fin4 <= fin3;
    fin5 <= fin4;
    if (v5) begin
      wlines <= ln5;
      if (fin5) wall <= 1'b1;
    end
    gt_sel <= gs;
    if (rst) begin
      state <= S_IDLE;
      layer <= '0;
      first <= 1'b1;
      step <= '0;
      done <= 1'b0;
      v1 <= 1'b0;
      v2 <= 1'b0;
      v3 <= 1'b0;
      v4 <= 1'b0;
      v5 <= 1'b0;
      fin1 <= 1'b0;
      fin2 <= 1'b0;
      fin3 <= 1'b0;
      fin4 <= 1'b0;
      fin5 <= 1'b0;
      wall <= 1'b1;
      issued_all <= 1'b1;
      acc_rb <= 1'b0;
      acc_gb <= 1'b1;
    end
  end
endmodule
`default_nettype wire
