// eie_pe: one EIE processing element (Han et al., ISCA 2016, Fig. 4), layers in turn.
//
// Pipeline of one PE (every memory read is registered; the stage names are the cycle after
// the read was issued):
//   queue   activation queue of (local column, value), depth `depth` <= DMAX at run time
//           (DMAX + 2 slots: the gate is registered and the emit too, two more can arrive);
//           written by its group's broadcast when the column has entries in this PE, popped
//           by stage A. Whether it has is a bit per column (u_nzc, written beside the
//           pointer pair by the loader: end != start) read with the column of the group's
//           emit register (my_ecol), the cycle before the broadcast: a column empty here
//           costs this PE nothing, where it cost stage B a cycle (issue 21)
//   A       pop the head and read the column's pointer pair {end, start} (one word: the
//           start and end pointers in one read); the pair waits in the RAM's output register
//           until B takes it
//   B       walk the column: one entry read per cycle from `cur` to `end`; B takes the next
//           pair in the cycle it issues its last entry, so columns follow back to back (no
//           column reaches the queue empty: see the queue's non-empty bits)
//   C       entry word {code, rel_index}: row = first ? ri : row + 1 + ri; codebook read
//   D       weight x activation (one multiplier); accumulator read of the row
//   E       sum = (row written in the previous cycle ? forwarded sum : accumulator) + product,
//           written back (the forward covers the read-after-write across the RAM's latency);
//           code 0 (a filler) updates nothing
// Gather (PE idle): the accumulator and the bias of local row gi_row are read and the next
// cycle the PE registers term = acc + bias when its row-PE index q selects it.
// Accumulator rows start every layer at zero without a clearing pass: a valid bit per row
// (acc_ok, flip-flops) is cleared at the layer's SETUP (`init`) and set by the row's first
// write; a read of a row whose bit is clear counts as zero (the bit is read beside the RAM
// word, into q_ok). So the RAM's contents never decide an output before the layer wrote them:
// not its power-up contents, not the partial sums of an inference cut short by a reset.
// eie_broadcast selects the PE's broadcast bus and term from the PE's index, so
// every PE is the same module with no index parameter: hierarchical synthesis maps it once.
//
// WALK = 2 (two entries per cycle, two multipliers; WALK = 1 is the pipeline above unchanged):
//   B       walks words cur and cur + 1 per cycle (the last cycle of an odd column only cur);
//           the next pair is taken in the cycle of the column's last one or two entries, so a
//           column of n entries takes ceil(n / 2) cycles. ENT_L = 1: the
//           entry RAM has a second read port (eie_ram_2r: port A cur, or the loader's write or
//           readback, port B cur + 1), one block RAM as before; so has ENT_L > 1 (the overlay's
//           rows of ENT_L words) with more than 512 rows (port B the row of cur + 1). ENT_L > 1
//           with up to 512 rows: two banks by word-address parity (bank b holds the words of its
//           parity, ENT_L / 2 a row, each bank a plain eie_ram of half the width, so as many
//           block RAMs as the one memory: a true dual-port block RAM is at most half as wide as
//           a simple dual-port one at 512 rows, 36 bits against 72), so cur and cur + 1 come from
//           different banks whatever cur's parity; the loader's writes and readback see the
//           unsplit rows either way (same images, same load format)
//   C       row0 = first ? ri0 : last_row + 1 + ri0, row1 = row0 + 1 + ri1; two codebook
//           reads from one RAM with a second read port (eie_ram_2r: port A read or load write,
//           port B read)
//   D, E    per slot as above: slot 0 (entries 0, 2, 4, ... of the column) accumulates into
//           bank A, slot 1 (entries 1, 3, ...) into bank B, each bank a 1R1W RAM with its own
//           valid bits and its own forward of the previous write (a column's rows are
//           distinct, so the two products of a cycle never meet; a row hit by both banks in
//           different cycles is two partial sums)
//   gather  reads both banks: term = accA + accB + bias (a bank's unwritten row counts 0)
//
// PP = 1 (the engine's OVERLAP = 2: a layer's gather issues beside the next layer's RUN): every
// accumulator memory is two, ping and pong, each with its own valid bits and read port. The
// running layer reads and writes bank acc_rb, the gather reads bank acc_gb (the engine flips them
// at each hand-off RUN -> GATHER), so the gather of layer l and the accumulation of layer l + 1
// never share a row or a port; SETUP clears the valid bits of bank acc_rb only.
`default_nettype none
module eie_pe #(
    // activation queue capacity (power of two)
    parameter DMAX = 8,
    // activation bits (two's complement)
    parameter XW = 16,
    // weight (codebook) bits (two's complement)
    parameter WW = 8,
    // accumulator bits
    parameter ACCW = 32,
    // code field bits of an entry word
    parameter CBW = 4,
    // relative-index field bits of an entry word
    parameter IXW = 4,
    // layers the table holds (codebook slots when CB_SLOTS is 0)
    parameter NL = 4,
    // codebook slots (0: one per layer, the slot is the layer index)
    parameter CB_SLOTS = 0,
    // entry RAM words
    parameter ENT_D = 1024,
    // pointer-pair RAM words (columns of all layers)
    parameter PTR_D = 512,
    // accumulator words (local rows of the largest layer)
    parameter ACC_D = 64,
    // bias words (local rows of all layers)
    parameter BIAS_D = 128,
    // local column bits
    parameter CW = 8,
    // $readmemh images ("" for none)
    parameter ENT_FILE = "",
    parameter PTR_FILE = "",
    // the non-empty column bits (PTR_L = 1: one a pointer-pair word, end != start)
    parameter NZC_FILE = "",
    parameter CB_FILE = "",
    parameter BIAS_FILE = "",
    // load-port geometry (the overlay's wide load; 1/1/0 is the plain engine, one word a write):
    // ENT_L entry words per entry-RAM row (a power of two; a load write fills one aligned row)
    parameter ENT_L = 1,
    // 1: pointer-pair rows {end, start}; 2: rows {p[2k+2], p[2k+1], p[2k]} of three column
    // pointers, pair c at row c / 2 (a load write places two new pointers)
    parameter PTR_L = 1,
    // 1: the load port reads back (ld_re: word ld_addr of memory ld_sel into ld_q the next
    // cycle; the PE must be idle, its memories' read ports are shared with the datapath)
    parameter LD_READ = 0,
    // entries walked per cycle: 1, or 2 (two multipliers; banked entry RAM and accumulators)
    parameter WALK = 1,
    // 1: two accumulator banks (ping-pong, the engine's OVERLAP = 2); 0: one
    parameter PP = 0,
    // 1: the queue takes only the columns with entries here (the non-empty bits, u_nzc); 0: every
    // broadcast column (an empty one costs stage B a cycle), without the bits' memory
    parameter SKIP = 1,
    // 1: the codebook in LUT RAM whatever its size, not after a block RAM's clock-to-output
    // (the ECP5's DP16KD: 5.83 ns) in front of the multiplier; with WALK = 1 read at an address
    // registered in stage C (g_w1l); 0: by the size rule below (block RAM above BLOCK_BITS)
    parameter CB_LUT = 0,
    // 1: the accumulators and the biases in LUT RAM whatever their size (eie_ram's registered
    // read: stage E's add and the gather's term start at flip-flops, not at a block RAM's
    // clock-to-output); 0: by the size rule below
    parameter ACC_LUT = 0,
    // derived widths
    // queue slots: DMAX and two of slack (the detectors' gate is a cycle old and does not count
    // the emit registered before the bank read, eie_broadcast)
    localparam QN = DMAX + 2,
    localparam QA = $clog2(QN),
    localparam DW = $clog2(DMAX + 1),
    localparam CNW = $clog2(QN + 1),
    localparam EA = $clog2(ENT_D + 1),
    localparam PA = (PTR_D > 1) ? $clog2(PTR_D) : 1,
    localparam RW = (ACC_D > 1) ? $clog2(ACC_D) : 1,
    localparam BA = (BIAS_D > 1) ? $clog2(BIAS_D) : 1,
    localparam LW = (NL > 1) ? $clog2(NL) : 1,
    localparam SW = (CB_SLOTS == 0) ? LW : (CB_SLOTS > 1) ? $clog2(CB_SLOTS) : 1,
    localparam CBA = SW + CBW,
    localparam EW = CBW + IXW,
    // load port data bits
    localparam LDW = 64
) (
    input  logic                 clk,
    input  logic                 rst,
    // the layer's SETUP cycle: every accumulator row becomes empty (acc_ok cleared)
    input  logic                 init,
    // PP: the banks of the running layer and of the gather (unused when PP = 0)
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                 acc_rb,
    input  logic                 acc_gb,
    /* verilator lint_on UNUSEDSIGNAL */
    // layer configuration (stable during a layer)
    input  logic [       SW-1:0] cb_slot,  // the layer's codebook slot
    input  logic [       PA-1:0] ptr_base,
    input  logic [       DW-1:0] depth,
    // this PE's broadcast (the engine selects its group's bus; valid only when the PE takes
    // part in the layer); the column is used only when SKIP = 0
    input  logic                 my_bc,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [       CW-1:0] my_col,
    /* verilator lint_on UNUSEDSIGNAL */
    // the column of the group's emit register (broadcast in the next cycle; unused when SKIP = 0)
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [       CW-1:0] my_ecol,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [       XW-1:0] my_x,
    // queue gate and status
    output logic                 ok,
    output logic                 busy,
    // gather: issue (read local row) and term stage (one cycle later)
    input  logic                 gi_valid,
    input  logic [       RW-1:0] gi_row,
    input  logic [       BA-1:0] gi_bias_addr,
    input  logic                 gt_valid,
    // this PE's term is selected (it takes part and its row-PE chunk is the one gathered)
    input  logic                 gt_sel,
    output logic [     ACCW-1:0] term,
    // loader
    input  logic                 ld_we,
    input  logic [          2:0] ld_sel,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [         31:0] ld_addr,  // shared bus: the memories use their address bits
    input  logic [      LDW-1:0] ld_data,
    /* verilator lint_on UNUSEDSIGNAL */
    // readback (LD_READ): ld_re reads in every PE, ld_me marks this one; ld_q is its row the
    // cycle after (zero from the other PEs, so the engine ORs them)
    input  logic                 ld_re,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                 ld_me,  // unused without LD_READ
    /* verilator lint_on UNUSEDSIGNAL */
    output logic [      LDW-1:0] ld_q
);
  localparam PW = WW + XW;
  // block RAM for memories of more than 1024 bits, LUT RAM below (flow.rtl.estimate.BLOCK_BITS):
  // block RAM is plentiful beside the LUTs (a 4 x 32 x 16-bit codebook is 66 LUTs as LUT RAM)
  localparam BLOCK_BITS = 1024;
  localparam ENT_BLK = (ENT_D * EW > BLOCK_BITS) ? 1 : 0;  // same bits in any row geometry
  localparam PTR_BLK = (PTR_R * PTR_RW > BLOCK_BITS) ? 1 : 0;
  localparam CB_BLK = (CB_LUT == 0 && ((1 << SW) << CBW) * WW > BLOCK_BITS) ? 1 : 0;
  localparam ELA = (ENT_L > 1) ? $clog2(ENT_L) : 0;  // lane bits of an entry address
  localparam ENT_R = (ENT_D + ENT_L - 1) / ENT_L;  // entry-RAM rows
  localparam PTR_R = (PTR_L == 2) ? (PTR_D + 1) / 2 : PTR_D;  // pointer-RAM rows
  localparam PTR_RW = (PTR_L == 2) ? 3 * EA : 2 * EA;  // pointer-RAM row bits
  localparam BIAS_BLK = (ACC_LUT == 0 && BIAS_D * ACCW > BLOCK_BITS) ? 1 : 0;
  localparam ACC_BLK = (ACC_LUT == 0 && ACC_D * ACCW > BLOCK_BITS) ? 1 : 0;
  localparam integer QLASTI = QN - 1;
  localparam [QA-1:0] QLAST = QLASTI[QA-1:0];
  localparam SEL_ENT = 3'd0, SEL_PTR = 3'd1, SEL_CB = 3'd2, SEL_BIAS = 3'd3;


  // ---- activation queue ----
  // a queue entry's pointer-pair address, ptr_base + its local column (added at the push, so the
  // pop reads the pointer RAM at a flip-flop's address), and its value
  logic [PA-1:0] q_pa[0:QN-1];
  logic [XW-1:0] q_x  [0:QN-1];
  logic [QA-1:0] head, tail;
  logic [CNW-1:0] cnt;
  logic          pop;
  // the broadcast is pushed when its column has entries here (nzc_q: read the cycle before)
  logic          push, nzc_q;
  assign push = my_bc && nzc_q;

  // ---- stage A / B ----
  logic          a1_valid;
  logic [XW-1:0] a1_x;
  logic [2*EA-1:0] ptr_q;
  logic [EA-1:0] b_cur, b_end;
  logic [XW-1:0] b_x;
  logic          b_first;
  logic          b_active, b_accept;
  logic          b_two;  // WALK = 2: two entries left at least (cur and cur + 1 both walked)
  assign b_active = b_cur != b_end;
  assign b_two = (WALK == 2) && (b_cur + 1'b1 != b_end);
  assign b_accept = !b_active || (b_cur + 1'b1 == b_end) || ((WALK == 2) && (b_cur + EA'(2) == b_end));
  assign pop = (cnt != 0) && (!a1_valid || b_accept);
  // count + in flight < depth; the group's gate registers it, so an emit in the cycle the gate
  // is computed and one in the emit register are not counted: the queue's two slots of slack
  // hold them (at most depth + 2 entries)
  assign ok = ({1'b0, cnt} + {{CNW{1'b0}}, push}) < {{(CNW + 1 - DW){1'b0}}, depth};

  // ---- stage C / D / E ----
  logic          c_valid, c_first;
  logic [XW-1:0] c_x;
  logic [EW-1:0] ent_q;
  logic [PA-1:0] ptr_addr, push_pa;
  assign ptr_addr = q_pa[head];
  logic [CBW-1:0] c_code;
  logic [IXW-1:0] c_ri;
  logic [RW-1:0] row, last_row;
  logic [RW-1:0] row_next;  // the column's last row so far after this cycle's entries
  assign c_code = ent_q[IXW+:CBW];
  assign c_ri = ent_q[IXW-1:0];
  /* verilator lint_off UNUSEDSIGNAL */
  logic [RW+IXW-1:0] row_wide;  // a row is < ACC_D (the fit check)
  /* verilator lint_on UNUSEDSIGNAL */
  assign row_wide = c_first ? {{RW{1'b0}}, c_ri} : {{IXW{1'b0}}, last_row} + {{(RW+IXW-1){1'b0}}, 1'b1} + {{RW{1'b0}}, c_ri};
  assign row = row_wide[RW-1:0];

  logic          d_valid;
  logic [RW-1:0] d_row;
  logic [XW-1:0] d_x;
  logic signed [WW-1:0] cb_q;
  logic signed [PW-1:0] prod;
  logic signed [XW-1:0] d_xs;
  assign d_xs = d_x;
  assign prod = cb_q * d_xs;

  logic            e_valid;
  logic [  RW-1:0] e_row;
  logic signed [PW-1:0] e_prod;
  logic [ACCW-1:0] acc_q, sum, base;
  // the valid bit (written in this layer) of the row read last by stage D (q_ok) and by the
  // gather (q_okg); the gather's word acc_qg (with PP = 0 the same read as stage D's)
  logic            q_ok, q_use, q_okg, q_usg;
  logic [ACCW-1:0] acc_qg;
`ifndef SYNTHESIS
  // the banks the simulation checks follow (bank 0 when PP = 0)
  logic CK_RB, CK_GB;
  assign CK_RB = PP != 0 && acc_rb;
  assign CK_GB = PP != 0 && acc_gb;
`endif
`ifdef EIE_TEST_NO_ACC_VALID
  assign q_use = 1'b1;  // a deliberately broken variant (tests: the read-before-write check)
  assign q_usg = 1'b1;
`else
  assign q_use = q_ok;
  assign q_usg = q_okg;
`endif
  logic            f_valid;
  logic [  RW-1:0] f_row;
  logic [ACCW-1:0] f_sum;
  assign base = (f_valid && f_row == e_row) ? f_sum : (q_use ? acc_q : '0);
  assign sum  = base + {{(ACCW-PW){e_prod[PW-1]}}, e_prod};

  logic busy_w2;  // WALK = 2: the second slot's stages
  assign busy = (cnt != 0) || a1_valid || b_active || c_valid || d_valid || e_valid || busy_w2;
  // WALK = 2: the gathered accumulator, both banks' (WALK = 1 uses acc_q directly: as a wire of
  // the generate block, Yosys/abc9 no longer merged its select into the adder, +36 LUT per PE)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [ACCW-1:0] acc_term;
  /* verilator lint_on UNUSEDSIGNAL */

  // ---- memories ----
  logic [ACCW-1:0] bias_q;
  logic rd_ent, rd_ptr, rd_cb, rd_bias;  // a readback of this memory (constant 0 without LD_READ)
  assign rd_ent = LD_READ != 0 && ld_re && ld_sel == SEL_ENT;
  assign rd_ptr = LD_READ != 0 && ld_re && ld_sel == SEL_PTR;
  assign rd_cb = LD_READ != 0 && ld_re && ld_sel == SEL_CB;
  assign rd_bias = LD_READ != 0 && ld_re && ld_sel == SEL_BIAS;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [PTR_RW-1:0] prow_rd;  // the pointer and entry RAMs' rows as read (readback only)
  logic [ENT_L*EW-1:0] erow_rd;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_off UNUSEDSIGNAL */
  /* verilator lint_off UNDRIVEN */
  logic [EW-1:0] ent_q1;  // WALK = 2: the word cur + 1 (slot 1)
  /* verilator lint_on UNDRIVEN */
  /* verilator lint_on UNUSEDSIGNAL */
  generate
    if (PTR_L == 2) begin : g_ptr3
      // rows of three pointers: pair c is {p[c+1], p[c]}, the low or high two of row c / 2
      logic [3*EA-1:0] prow_q;
      logic psel;  // c[0] of the row read, held with the RAM's output
      eie_ram #(.BLOCK(PTR_BLK), .DEPTH(PTR_R), .WIDTH(3 * EA), .INIT_FILE(PTR_FILE)) u_ptr (
          .clk(clk), .re(pop || rd_ptr), .raddr(rd_ptr ? ld_addr[PA-2:0] : ptr_addr[PA-1:1]), .q(prow_q),
          .we(ld_we && ld_sel == SEL_PTR), .waddr(ld_addr[PA-2:0]), .wdata(ld_data[3*EA-1:0]));
      always_ff @(posedge clk) if (pop) psel <= ptr_addr[0];
      assign ptr_q = psel ? prow_q[3*EA-1:EA] : prow_q[2*EA-1:0];
      assign prow_rd = prow_q;
    end else begin : g_ptr2
      eie_ram #(.BLOCK(PTR_BLK), .DEPTH(PTR_D), .WIDTH(2 * EA), .INIT_FILE(PTR_FILE)) u_ptr (
          .clk(clk), .re(pop || rd_ptr), .raddr(rd_ptr ? ld_addr[PA-1:0] : ptr_addr), .q(ptr_q),
          .we(ld_we && ld_sel == SEL_PTR), .waddr(ld_addr[PA-1:0]), .wdata(ld_data[2*EA-1:0]));
      assign prow_rd = ptr_q;
    end
    if (WALK == 2 && ENT_L == 1) begin : g_ent2r
      // one RAM, two reads: cur at port A (shared with the loader), cur + 1 at port B
      localparam EAA = $clog2(ENT_D);
      logic ent_ld;  // a load write or readback owns port A
      /* verilator lint_off UNUSEDSIGNAL */
      logic [EA-1:0] nxt;  // < ENT_D when read (cur + 1 < end)
      /* verilator lint_on UNUSEDSIGNAL */
      assign ent_ld = (ld_we && ld_sel == SEL_ENT) || rd_ent;
      assign nxt = b_cur + 1'b1;
      eie_ram_2r #(.BLOCK(ENT_BLK), .DEPTH(ENT_D), .WIDTH(EW), .INIT_FILE(ENT_FILE)) u_ent (
          .clk(clk), .re_a(b_active || rd_ent), .we_a(ld_we && ld_sel == SEL_ENT),
          .addr_a(ent_ld ? ld_addr[EAA-1:0] : b_cur[EAA-1:0]), .wdata_a(ld_data[EW-1:0]), .q_a(ent_q),
          .re_b(b_active && b_two), .addr_b(nxt[EAA-1:0]), .q_b(ent_q1));
      assign erow_rd = ent_q;
    end else if (WALK == 2 && ENT_R > 512) begin : g_ent2w
      // ENT_L > 1, more than 512 rows: one RAM, port A the row of cur (or the loader's), port B
      // the row of cur + 1 (a true dual-port block RAM is as wide as a simple dual-port one there)
      localparam ERA = $clog2(ENT_R);
      logic ent_ld;  // a load write or readback owns port A
      /* verilator lint_off UNUSEDSIGNAL */
      logic [EA-1:0] nxt;  // < ENT_D when read (cur + 1 < end)
      /* verilator lint_on UNUSEDSIGNAL */
      logic [ENT_L*EW-1:0] qa, qb;
      logic [ELA-1:0] sa, sb;  // lanes of the words read, held with the RAM's outputs
      assign ent_ld = (ld_we && ld_sel == SEL_ENT) || rd_ent;
      assign nxt = b_cur + 1'b1;
      eie_ram_2r #(.BLOCK(ENT_BLK), .DEPTH(ENT_R), .WIDTH(ENT_L * EW), .INIT_FILE(ENT_FILE)) u_ent (
          .clk(clk), .re_a(b_active || rd_ent), .we_a(ld_we && ld_sel == SEL_ENT),
          .addr_a(ent_ld ? ld_addr[ERA-1:0] : b_cur[ELA+:ERA]), .wdata_a(ld_data[ENT_L*EW-1:0]), .q_a(qa),
          .re_b(b_active && b_two), .addr_b(nxt[ELA+:ERA]), .q_b(qb));
      always_ff @(posedge clk) begin
        if (b_active) sa <= b_cur[ELA-1:0];
        if (b_active && b_two) sb <= nxt[ELA-1:0];
      end
      assign ent_q = qa[32'(sa)*EW+:EW];
      assign ent_q1 = qb[32'(sb)*EW+:EW];
      assign erow_rd = qa;
    end else if (WALK == 2) begin : g_ent2
      // ENT_L > 1, up to 512 rows: two banks by word-address parity; a bank row holds the ENT_L / 2
      // words of its parity of an ENT_L-word row (lane l of bank b: word 2 l + b of the row)
      localparam BL = ENT_L / 2;  // words per bank row
      localparam BLA = (BL > 1) ? $clog2(BL) : 1;  // lane bits
      localparam BR = ENT_R;  // bank rows
      localparam BRA = (BR > 1) ? $clog2(BR) : 1;
      localparam BBLK = (BR * BL * EW > BLOCK_BITS) ? 1 : 0;
      logic [EA-1:0] nxt;
      logic [2*EA-1:0] wa;  // the word each bank reads: cur, cur + 1 in parity order
      logic [1:0] bre;
      logic [2*EW-1:0] words;  // the words read, bank 1's high
      logic [2*BL*EW-1:0] bq;  // the rows read, bank 1's high
      logic odd;  // cur was odd (slot 0 is bank 1's word), held with the RAMs' outputs
      assign nxt = b_cur + 1'b1;
      assign wa = b_cur[0] ? {b_cur, nxt} : {nxt, b_cur};
      assign bre[0] = b_active && (!b_cur[0] || b_two);
      assign bre[1] = b_active && (b_cur[0] || b_two);
      for (genvar b = 0; b < 2; b++) begin : g_bank
        /* verilator lint_off UNUSEDSIGNAL */
        logic [EA-1:0] w;  // its bank row and lane bits are used
        /* verilator lint_on UNUSEDSIGNAL */
        logic [BL*EW-1:0] q, wd;
        logic re, we;
        logic [BRA-1:0] ra, wad;
        assign w = wa[b*EA+:EA];
        for (genvar l = 0; l < BL; l++) begin : g_lane
          assign wd[l*EW+:EW] = ld_data[(2*l+b)*EW+:EW];
        end
        // a load write or readback is of a whole row: both banks at row ld_addr
        assign we = ld_we && ld_sel == SEL_ENT;
        assign wad = ld_addr[BRA-1:0];
        assign re = bre[b] || rd_ent;
        assign ra = rd_ent ? ld_addr[BRA-1:0] : w[ELA+:BRA];
        eie_ram #(.BLOCK(BBLK), .DEPTH(BR), .WIDTH(BL * EW), .INIT_FILE(ENT_FILE), .SPLIT(1),
                  .SPLIT_BANK(b), .LANE_W(EW)) u_ent (
            .clk(clk), .re(re), .raddr(ra), .q(q), .we(we), .waddr(wad), .wdata(wd));
        assign bq[b*BL*EW+:BL*EW] = q;
        if (BL > 1) begin : g_sel
          logic [BLA-1:0] lsel;  // lane of the word read
          always_ff @(posedge clk) if (bre[b]) lsel <= w[1+:BLA];
          assign words[b*EW+:EW] = q[32'(lsel)*EW+:EW];
        end else begin : g_one
          assign words[b*EW+:EW] = q;
        end
      end
      always_ff @(posedge clk) if (b_active) odd <= b_cur[0];
      assign ent_q = odd ? words[EW+:EW] : words[EW-1:0];
      assign ent_q1 = odd ? words[EW-1:0] : words[EW+:EW];
      for (genvar l = 0; l < BL; l++) begin : g_rdl  // readback: the row re-interleaved
        assign erow_rd[(2*l)*EW+:EW] = bq[l*EW+:EW];
        assign erow_rd[(2*l+1)*EW+:EW] = bq[(BL+l)*EW+:EW];
      end
    end else if (ENT_L > 1) begin : g_entw
      // rows of ENT_L entry words: word a is lane a % ENT_L of row a / ENT_L
      localparam ERA = (ENT_R > 1) ? $clog2(ENT_R) : 1;
      logic [ENT_L*EW-1:0] erow_q;
      logic [ELA-1:0] esel;  // lane of the word read, held with the RAM's output
      eie_ram #(.BLOCK(ENT_BLK), .DEPTH(ENT_R), .WIDTH(ENT_L * EW), .INIT_FILE(ENT_FILE)) u_ent (
          .clk(clk), .re(b_active || rd_ent), .raddr(rd_ent ? ld_addr[ERA-1:0] : b_cur[ELA+:ERA]),
          .q(erow_q),
          .we(ld_we && ld_sel == SEL_ENT), .waddr(ld_addr[ERA-1:0]), .wdata(ld_data[ENT_L*EW-1:0]));
      always_ff @(posedge clk) if (b_active) esel <= b_cur[ELA-1:0];
      assign ent_q = erow_q[32'(esel)*EW+:EW];
      assign erow_rd = erow_q;
    end else begin : g_ent1
      eie_ram #(.BLOCK(ENT_BLK), .DEPTH(ENT_D), .WIDTH(EW), .INIT_FILE(ENT_FILE)) u_ent (
          .clk(clk), .re(b_active || rd_ent),
          .raddr(rd_ent ? ld_addr[$clog2(ENT_D)-1:0] : b_cur[$clog2(ENT_D)-1:0]), .q(ent_q),
          .we(ld_we && ld_sel == SEL_ENT), .waddr(ld_addr[$clog2(ENT_D)-1:0]), .wdata(ld_data[EW-1:0]));
      assign erow_rd = ent_q;
    end
    if (LD_READ != 0) begin : g_rd
      logic [2:0] rsel;  // the memory read back, and whether this PE was the one
      logic rme;
      always_ff @(posedge clk) begin
        if (ld_re) begin
          rsel <= ld_sel;
          rme <= ld_me;
        end
        if (rst) rme <= 1'b0;
      end
      always_comb begin
        ld_q = '0;
        if (rme) begin
          case (rsel)
            SEL_ENT: ld_q = LDW'(erow_rd);
            SEL_PTR: ld_q = LDW'(prow_rd);
            SEL_CB: ld_q = LDW'($unsigned(cb_q));
            SEL_BIAS: ld_q = LDW'(bias_q);
            default: ld_q = '0;
          endcase
        end
      end
    end else begin : g_nord
      assign ld_q = '0;
    end
  endgenerate
  generate
    if (WALK == 2) begin : g_w2
      // ---- the second slot: word cur + 1 (C), its product (D) and accumulator bank B (E) ----
      logic          c_valid1;
      logic [CBW-1:0] c_code1;
      logic [IXW-1:0] c_ri1;
      logic [RW-1:0] row1;
      /* verilator lint_off UNUSEDSIGNAL */
      logic [RW+IXW-1:0] row1_wide;  // a row is < ACC_D (the fit check)
      /* verilator lint_on UNUSEDSIGNAL */
      assign c_code1 = ent_q1[IXW+:CBW];
      assign c_ri1 = ent_q1[IXW-1:0];
      assign row1_wide = {{IXW{1'b0}}, row} + {{(RW+IXW-1){1'b0}}, 1'b1} + {{RW{1'b0}}, c_ri1};
      assign row1 = row1_wide[RW-1:0];
      assign row_next = c_valid1 ? row1 : row;
      logic signed [WW-1:0] cb_q1;
      logic cb_ld;  // a load write or readback owns port A
      assign cb_ld = (ld_we && ld_sel == SEL_CB) || rd_cb;
      eie_ram_2r #(.BLOCK(CB_BLK), .DEPTH((1 << SW) << CBW), .WIDTH(WW), .INIT_FILE(CB_FILE)) u_cb (
          .clk(clk), .re_a(c_valid || rd_cb), .we_a(ld_we && ld_sel == SEL_CB),
          .addr_a(cb_ld ? ld_addr[CBA-1:0] : {cb_slot, c_code}), .wdata_a(ld_data[WW-1:0]), .q_a(cb_q),
          .re_b(c_valid1), .addr_b({cb_slot, c_code1}), .q_b(cb_q1));

      logic          d_valid1;
      logic [RW-1:0] d_row1;
      logic signed [PW-1:0] prod1;
      assign prod1 = cb_q1 * d_xs;
      logic            e_valid1;
      logic [  RW-1:0] e_row1;
      logic signed [PW-1:0] e_prod1;
      logic [ACCW-1:0] acc_q1, sum1, base1, acc_qg1;
      logic            q_ok1, q_use1, q_okg1, q_usg1;
`ifdef EIE_TEST_NO_ACC_VALID
      assign q_use1 = 1'b1;
      assign q_usg1 = 1'b1;
`else
      assign q_use1 = q_ok1;
      assign q_usg1 = q_okg1;
`endif
      logic            f_valid1;
      logic [  RW-1:0] f_row1;
      logic [ACCW-1:0] f_sum1;
      assign base1 = (f_valid1 && f_row1 == e_row1) ? f_sum1 : (q_use1 ? acc_q1 : '0);
      assign sum1  = base1 + {{(ACCW-PW){e_prod1[PW-1]}}, e_prod1};
      eie_pe_acc #(.ACC_D(ACC_D), .ACCW(ACCW), .BLOCK(ACC_BLK), .PP(PP)) u_acc1 (
          .clk(clk), .clr(init), .rb(acc_rb), .gb(acc_gb), .a_re(d_valid1), .a_addr(d_row1),
          .g_re(gi_valid), .g_addr(gi_row), .we(e_valid1), .waddr(e_row1), .wdata(sum1),
          .qa(acc_q1), .oka(q_ok1), .qg(acc_qg1), .okg(q_okg1));
      assign busy_w2 = d_valid1 || e_valid1;  // c_valid1 implies c_valid
      assign acc_term = (q_usg ? acc_qg : '0) + (q_usg1 ? acc_qg1 : '0);
      always_ff @(posedge clk) begin
        d_row1 <= row1;
        e_row1 <= d_row1;
        e_prod1 <= prod1;
        f_row1 <= e_row1;
        f_sum1 <= sum1;
        c_valid1 <= b_active && b_two;
        d_valid1 <= c_valid1 && c_code1 != '0;
        e_valid1 <= d_valid1;
        f_valid1 <= e_valid1;
        if (rst) begin
          c_valid1 <= 1'b0;
          d_valid1 <= 1'b0;
          e_valid1 <= 1'b0;
          f_valid1 <= 1'b0;
        end
      end
`ifndef SYNTHESIS
      // the check below, for bank B
      /* verilator lint_off PROCASSINIT */
      logic chk_armed1 = 1'b0;
      /* verilator lint_on PROCASSINIT */
      logic [ACC_D-1:0] chk_wr1[0:1];
      logic [RW-1:0] chk_grow1;
      always_ff @(posedge clk) begin
        if (rst) chk_armed1 <= 1'b1;
        if (chk_armed1 && !rst && e_valid1 && !(f_valid1 && f_row1 == e_row1) && q_use1 && !chk_wr1[CK_RB][e_row1])
          $error("eie_pe %m: accumulator bank B row %0d read before it was written in this layer", e_row1);
        if (chk_armed1 && !rst && gt_valid && gt_sel && q_usg1 && !chk_wr1[CK_GB][chk_grow1])
          $error("eie_pe %m: accumulator bank B row %0d gathered before it was written in this layer",
                 chk_grow1);
        if (gi_valid) chk_grow1 <= gi_row;
        if (e_valid1) chk_wr1[CK_RB][e_row1] <= 1'b1;
        if (init) chk_wr1[CK_RB] <= '0;
      end
`endif
    end else if (CB_LUT != 0) begin : g_w1l
      // CB_LUT: the codebook in LUT RAM, its read address registered in stage C (cb_ra) and the
      // word read asynchronously in stage D, so the entry RAM's output ends at cb_ra and the LUT
      // RAM's read multiplexers sit before the multiplier (a flip-flop on the word, as eie_ram
      // makes it, left the whole read after the entry block RAM: 15.0 ns at P = 16). cb_q is the
      // same word in the same cycle as eie_ram's registered read, unless a load write of that
      // word shares the read's cycle (eie_ram: the old word; here the new one), which the engine
      // never does: the load port writes and reads back an idle engine, one access a cycle.
      // Yosys keeps cb_ra as the LUT RAM's read address register (memory_libmap)
      (* ram_style = "distributed" *) logic [WW-1:0] cbm[0:((1 << SW) << CBW)-1];
      logic [CBA-1:0] cb_ra;
      initial begin
        if (CB_FILE != "") $readmemh(CB_FILE, cbm);
      end
      always_ff @(posedge clk) begin
        if (c_valid || rd_cb) cb_ra <= rd_cb ? ld_addr[CBA-1:0] : {cb_slot, c_code};
        if (ld_we && ld_sel == SEL_CB) cbm[ld_addr[CBA-1:0]] <= ld_data[WW-1:0];
      end
      assign cb_q = cbm[cb_ra];
      assign row_next = row;
      assign busy_w2 = 1'b0;
      assign acc_term = '0;  // unused
    end else begin : g_w1
      eie_ram #(.BLOCK(CB_BLK), .DEPTH((1 << SW) << CBW), .WIDTH(WW), .INIT_FILE(CB_FILE)) u_cb (
          .clk(clk), .re(c_valid || rd_cb), .raddr(rd_cb ? ld_addr[CBA-1:0] : {cb_slot, c_code}), .q(cb_q),
          .we(ld_we && ld_sel == SEL_CB), .waddr(ld_addr[CBA-1:0]), .wdata(ld_data[WW-1:0]));
      assign row_next = row;
      assign busy_w2 = 1'b0;
      assign acc_term = '0;  // unused
    end
  endgenerate
  eie_ram #(.BLOCK(BIAS_BLK), .DEPTH(BIAS_D), .WIDTH(ACCW), .INIT_FILE(BIAS_FILE)) u_bias (
      .clk(clk), .re(gi_valid || rd_bias), .raddr(rd_bias ? ld_addr[BA-1:0] : gi_bias_addr), .q(bias_q),
      .we(ld_we && ld_sel == SEL_BIAS), .waddr(ld_addr[BA-1:0]), .wdata(ld_data[ACCW-1:0]));
  eie_pe_acc #(.ACC_D(ACC_D), .ACCW(ACCW), .BLOCK(ACC_BLK), .PP(PP)) u_acc (
      .clk(clk), .clr(init), .rb(acc_rb), .gb(acc_gb), .a_re(d_valid), .a_addr(d_row),
      .g_re(gi_valid), .g_addr(gi_row), .we(e_valid), .waddr(e_row), .wdata(sum),
      .qa(acc_q), .oka(q_ok), .qg(acc_qg), .okg(q_okg));

  // ---- non-empty column bits: the address of the column in the emit register, read every
  // cycle, so the bit is out with the broadcast; the address, registered, is the one pushed (so
  // with SKIP the PE needs only the emit register's column, not the broadcast's) ----
  /* verilator lint_off UNUSEDSIGNAL */
  logic [PA+CW-1:0] nzc_sum, bc_sum;  // fit PA bits (the fit check)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [PA-1:0] nzc_aq;
  assign nzc_sum = {{CW{1'b0}}, ptr_base} + {{PA{1'b0}}, my_ecol};
  assign bc_sum = {{CW{1'b0}}, ptr_base} + {{PA{1'b0}}, my_col};
  always_ff @(posedge clk) nzc_aq <= nzc_sum[PA-1:0];
  assign push_pa = (SKIP != 0) ? nzc_aq : bc_sum[PA-1:0];
  generate
    if (SKIP == 0) begin : g_noskip
      assign nzc_q = 1'b1;
    end else if (PTR_L == 2) begin : g_nzc2
      // rows of two bits beside the pointer rows {p[2k+2], p[2k+1], p[2k]}: column 2k, 2k + 1
      localparam NZC_BLK = (PTR_R * 2 > BLOCK_BITS) ? 1 : 0;
      logic [1:0] nzc_row;
      logic nsel;
      eie_ram #(.BLOCK(NZC_BLK), .DEPTH(PTR_R), .WIDTH(2), .INIT_FILE(NZC_FILE)) u_nzc (
          .clk(clk), .re(1'b1), .raddr(nzc_sum[PA-1:1]), .q(nzc_row),
          .we(ld_we && ld_sel == SEL_PTR), .waddr(ld_addr[PA-2:0]),
          .wdata({ld_data[3*EA-1:2*EA] != ld_data[2*EA-1:EA], ld_data[2*EA-1:EA] != ld_data[EA-1:0]}));
      always_ff @(posedge clk) nsel <= nzc_sum[0];
      assign nzc_q = nzc_row[nsel];
    end else begin : g_nzc1
      localparam NZC_BLK = (PTR_D > BLOCK_BITS) ? 1 : 0;
      eie_ram #(.BLOCK(NZC_BLK), .DEPTH(PTR_D), .WIDTH(1), .INIT_FILE(NZC_FILE)) u_nzc (
          .clk(clk), .re(1'b1), .raddr(nzc_sum[PA-1:0]), .q(nzc_q),
          .we(ld_we && ld_sel == SEL_PTR), .waddr(ld_addr[PA-1:0]),
          .wdata(ld_data[2*EA-1:EA] != ld_data[EA-1:0]));
    end
  endgenerate

  always_ff @(posedge clk) begin
    // queue storage (no reset)
    if (push) begin
      q_pa[tail] <= push_pa;
      q_x[tail]   <= my_x;
    end
    if (pop) a1_x <= q_x[head];
    if (a1_valid && b_accept) begin
      b_x <= a1_x;
    end
    c_x <= b_x;
    c_first <= b_first;
    if (c_valid) last_row <= row_next;
    d_row <= row;
    d_x <= c_x;
    e_row <= d_row;
    e_prod <= prod;
    f_row <= e_row;
    f_sum <= sum;
    if (gt_valid) term <= gt_sel ? ((WALK == 2) ? acc_term : (q_usg ? acc_qg : '0)) + bias_q : '0;
    // control
    if (push) tail <= (tail == QLAST) ? '0 : tail + 1'b1;
    if (pop) head <= (head == QLAST) ? '0 : head + 1'b1;
    cnt <= cnt + {{(CNW-1){1'b0}}, push} - {{(CNW-1){1'b0}}, pop};
    a1_valid <= pop || (a1_valid && !b_accept);
    if (a1_valid && b_accept) begin
      b_cur <= ptr_q[EA-1:0];
      b_end <= ptr_q[2*EA-1:EA];
      b_first <= 1'b1;
    end else if (b_active) begin
      b_cur <= b_cur + (b_two ? EA'(2) : EA'(1));
      b_first <= 1'b0;
    end
    c_valid <= b_active;
    d_valid <= c_valid && c_code != '0;
    e_valid <= d_valid;
    f_valid <= e_valid;
    if (rst) begin
      head <= '0;
      tail <= '0;
      cnt <= '0;
      a1_valid <= 1'b0;
      b_cur <= '0;
      b_end <= '0;
      c_valid <= 1'b0;
      d_valid <= 1'b0;
      e_valid <= 1'b0;
      f_valid <= 1'b0;
    end
  end

`ifndef SYNTHESIS
  // Simulation check, independent of acc_ok: no accumulator row's RAM word is used (by stage
  // E or the gather) unless the row was written since the layer's SETUP. The RAM returns the
  // words written up to two cycles before the use; a write in the cycle before is forwarded.
  // armed by the first reset: before it every flip-flop may hold anything
  /* verilator lint_off PROCASSINIT */
  logic chk_armed = 1'b0;
  /* verilator lint_on PROCASSINIT */
  logic [ACC_D-1:0] chk_wr[0:1];  // per bank (PP; bank 0 only when PP = 0)
  logic [RW-1:0] chk_grow;
  always_ff @(posedge clk) begin
    if (rst) chk_armed <= 1'b1;
    if (chk_armed && !rst && e_valid && !(f_valid && f_row == e_row) && q_use && !chk_wr[CK_RB][e_row])
      $error("eie_pe %m: accumulator row %0d read before it was written in this layer", e_row);
    if (chk_armed && !rst && gt_valid && gt_sel && q_usg && !chk_wr[CK_GB][chk_grow])
      $error("eie_pe %m: accumulator row %0d gathered before it was written in this layer",
             chk_grow);
    if (gi_valid) chk_grow <= gi_row;
    if (e_valid) chk_wr[CK_RB][e_row] <= 1'b1;
    if (init) chk_wr[CK_RB] <= '0;
  end
`endif
endmodule
`default_nettype wire
