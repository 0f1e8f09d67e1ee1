`default_nettype none
// eie_axi: the RTL engine (eie_engine, through its own ports only) as an AXI overlay.
//
// - s_axis_in: samples, each starting on a beat, the first layer's activations packed at their
//   own width (IN_BITS 8/16/32 of the loaded model, little-endian first); an input FIFO lets the
//   next sample arrive while the engine runs; the unpacker makes the engine's 16-activation lines.
// - m_axis_out: per sample ceil(N_OUT x OUT_BITS / 64) beats; TLAST on the batch's last beat. A
//   sample starts only when the output line FIFO has room for all its lines, so the engine's
//   gather never waits for the host.
// - s_axis_ld: model.eie's load words (flow/runtime/eie_image.py), taken only after CTRL.LOAD
//   was accepted (idle); about one engine write per beat: an entry beat is one entry-RAM row,
//   a pointer beat two pointer rows, a broadcast element one write into every PE (ld_bcast).
// - s_axil: control, status, counters and the read-only identity (eie_regmap.svh, generated
//   from flow/runtime/regmap.py).
// Soft reset (CTRL.SOFT_RESET) aborts the batch and the load and flushes the FIFOs; the model
// stays. No clearing pass is needed after a load or an aborting reset: the engine's per-row valid
// bits (eie_pe.sv, cleared at every layer's SETUP) make a row's RAM word count only once the
// layer wrote it, whatever an aborted sample or power-up left there.
module eie_axi #(
    // engine parameters (eie_engine.sv)
    parameter P = 4,
    parameter ANYR = 0,
    parameter MAXG = 2,
    parameter DMAX = 4,
    parameter NL = 2,
    parameter NX = 64,
    parameter XW = 16,
    parameter WW = 8,
    parameter ACCW = 32,
    parameter CBW = 4,
    parameter IXW = 4,
    parameter ENT_D = 256,
    parameter PTR_D = 64,
    parameter ACC_D = 16,
    parameter BIAS_D = 32,
    parameter OL = 4,
    // codebook slots per PE (0: one per layer; eie_engine.sv)
    parameter CB_SLOTS = 0,
    // 1: LOAD_READ reads a loaded memory word back (the engine's LD_READ)
    parameter LD_READ = 0,
    // entries each PE walks per cycle (the engine's WALK: 1, or 2 with two multipliers per PE)
    parameter WALK = 1,
    // 1: a layer's gather drains beside the next layer's SETUP and RUN (the engine's OVERLAP)
    parameter OVERLAP = 0,
    // 1: the PEs skip broadcast columns they have no entries in (the engine's SKIP)
    parameter SKIP = 1,
    // model slots: resident models with their CONFIG word (MODEL.SEL selects one)
    parameter MODELS = 2,
    // input FIFO depth in beats (power of two)
    parameter IFIFO_D = 512,
    // identity: first 32 bits of EngineParams.key()
    parameter [31:0] BUILD_HASH = 32'h0,
    // derived
    parameter LA = (NX / 16 > 1) ? $clog2(NX / 16) : 1,
    parameter LW = (NL > 1) ? $clog2(NL) : 1,
    parameter OFIFO_D = 1 << LA,
    parameter MS = (MODELS > 1) ? $clog2(MODELS) : 1
) (
    input  wire         clk,
    input  wire         aresetn,
    // AXI4-Lite slave (32-bit registers: address bits 1:0 and the byte strobes are ignored)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire  [ 7:0] s_axil_awaddr,
    input  wire         s_axil_awvalid,
    output logic        s_axil_awready,
    input  wire  [31:0] s_axil_wdata,
    input  wire  [ 3:0] s_axil_wstrb,
    input  wire         s_axil_wvalid,
    output logic        s_axil_wready,
    output logic [ 1:0] s_axil_bresp,
    output logic        s_axil_bvalid,
    input  wire         s_axil_bready,
    input  wire  [ 7:0] s_axil_araddr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire         s_axil_arvalid,
    output logic        s_axil_arready,
    output logic [31:0] s_axil_rdata,
    output logic [ 1:0] s_axil_rresp,
    output logic        s_axil_rvalid,
    input  wire         s_axil_rready,
    // samples in
    input  wire  [63:0] s_axis_in_tdata,
    input  wire         s_axis_in_tvalid,
    output logic        s_axis_in_tready,
    // results out
    output logic [63:0] m_axis_out_tdata,
    output logic        m_axis_out_tvalid,
    input  wire         m_axis_out_tready,
    output logic        m_axis_out_tlast,
    // model load words in
    input  wire  [63:0] s_axis_ld_tdata,
    input  wire         s_axis_ld_tvalid,
    output logic        s_axis_ld_tready,
    // batch done (IRQ.DONE && IRQ_EN.DONE)
    output logic        irq
);
`include "eie_regmap.svh"

  localparam ENTW = CBW + IXW;
  localparam PB = $clog2(ENT_D + 1);  // engine pointer bits (flow.rtl.params.ptr_bits)
  // lane bits of a load kind (flow.runtime.regmap.lane_bits): powers of two >= the field
  localparam integer LN_ENT = (ENTW <= 8) ? 8 : (ENTW <= 16) ? 16 : 32;
  localparam integer LN_CB = (WW <= 8) ? 8 : (WW <= 16) ? 16 : 32;
  localparam integer LN_BIAS = (ACCW <= 32) ? 32 : 64;
  // entry words per load beat = per engine entry-RAM row (ENT_L), and its log2
  localparam integer EPR = 64 / LN_ENT;
  localparam integer LEPR = $clog2(EPR);

  logic rst;  // AXI reset or soft reset
  logic srst_q;
  assign rst = !aresetn || srst_q;

  // ---------------- registers ----------------
  logic st_done, st_loaded, st_refused, st_load_err, irq_pend, irq_en;
  logic [31:0] n_samples, samples_done, cyc_batch, cyc_sample, load_words, load_cycles;
  logic [31:0] cyc_batch_run, cyc_sample_run, load_cycles_run;
  logic [63:0] cfg;  // the selected model's CONFIG word
  logic [63:0] cfg_m[0:MODELS-1];
  logic [MODELS-1:0] loaded_m;
  logic [3:0] sel;  // MODEL.SEL
  logic [MS-1:0] msel;
  assign msel = sel[MS-1:0];
  assign cfg = cfg_m[msel];
  assign st_loaded = loaded_m[msel];
  logic batch, armed;
  logic [15:0] n_in, n_out;
  logic [7:0] in_bits, out_bits;
  logic in_signed;
  assign n_in = cfg[EIE_CFG_N_IN_LO+:16];
  assign n_out = cfg[EIE_CFG_N_OUT_LO+:16];
  assign in_bits = cfg[EIE_CFG_IN_BITS_LO+:8];
  assign in_signed = cfg[EIE_CFG_IN_SIGNED_LO];
  assign out_bits = cfg[EIE_CFG_OUT_BITS_LO+:8];
  assign irq = irq_pend && irq_en;

  // ---------------- AXI4-Lite ----------------
  logic wr_fire, ctrl_start, ctrl_soft, ctrl_load;
  logic [7:0] wr_addr;
  assign s_axil_awready = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
  assign s_axil_wready = s_axil_awready;
  assign wr_fire = s_axil_awready;
  assign wr_addr = {s_axil_awaddr[7:2], 2'b00};
  assign s_axil_bresp = 2'b00;
  assign s_axil_rresp = 2'b00;
  assign ctrl_start = wr_fire && wr_addr == EIE_REG_CTRL && s_axil_wdata[EIE_CTRL_START];
  assign ctrl_soft = wr_fire && wr_addr == EIE_REG_CTRL && s_axil_wdata[EIE_CTRL_SOFT_RESET];
  assign ctrl_load = wr_fire && wr_addr == EIE_REG_CTRL && s_axil_wdata[EIE_CTRL_LOAD];
  assign s_axil_arready = s_axil_arvalid && !s_axil_rvalid;

  logic idle;
  assign idle = !batch && !armed;

  logic [31:0] rd_val;
  always_comb begin
    case ({s_axil_araddr[7:2], 2'b00})
      EIE_REG_STATUS: rd_val = 32'(st_done) << EIE_STATUS_DONE | 32'(idle) << EIE_STATUS_IDLE |
                               32'(armed) << EIE_STATUS_LOADING | 32'(st_loaded) << EIE_STATUS_LOADED |
                               32'(st_refused) << EIE_STATUS_REFUSED | 32'(st_load_err) << EIE_STATUS_LOAD_ERR;
      EIE_REG_IRQ: rd_val = 32'(irq_pend) << EIE_IRQ_DONE;
      EIE_REG_IRQ_EN: rd_val = 32'(irq_en) << EIE_IRQ_EN_DONE;
      EIE_REG_N_SAMPLES: rd_val = n_samples;
      EIE_REG_SAMPLES_DONE: rd_val = samples_done;
      EIE_REG_CYC_BATCH: rd_val = cyc_batch;
      EIE_REG_CYC_SAMPLE: rd_val = cyc_sample;
      EIE_REG_LOAD_WORDS: rd_val = load_words;
      EIE_REG_LOAD_CYCLES: rd_val = load_cycles;
      EIE_REG_MODEL_IO: rd_val = {8'd0, out_bits, 7'd0, in_signed, in_bits};
      EIE_REG_MODEL_N: rd_val = {n_out, n_in};
      EIE_REG_MODEL: rd_val = 32'(sel);
      EIE_REG_CAP_MODELS: rd_val = 32'(MODELS);
      EIE_REG_IDENT: rd_val = EIE_IDENT;
      EIE_REG_VERSION: rd_val = {16'(EIE_FORMAT_VERSION), 16'(EIE_REGMAP_VERSION)};
      EIE_REG_BUILD_HASH: rd_val = BUILD_HASH;
      EIE_REG_CAP_P: rd_val = 32'(P);
      EIE_REG_CAP_DMAX: rd_val = 32'(DMAX);
      EIE_REG_CAP_ENT: rd_val = 32'(ENT_D);
      EIE_REG_CAP_PTR: rd_val = 32'(PTR_D);
      EIE_REG_CAP_ACC: rd_val = 32'(ACC_D);
      EIE_REG_CAP_BIAS: rd_val = 32'(BIAS_D);
      EIE_REG_CAP_LAYERS: rd_val = 32'(NL);
      EIE_REG_CAP_CB: rd_val = 32'(CB_SLOTS == 0 ? (1 << LW) : CB_SLOTS);
      EIE_REG_CAP_NX: rd_val = 32'(NX);
      EIE_REG_CAP_WIDTHS: rd_val = {4'(IXW), 4'(CBW), 8'(ACCW), 8'(WW), 8'(XW)};
      EIE_REG_CAP_LAYOUT: rd_val = {8'd8, 6'd0, 1'(LD_READ != 0), 1'(ANYR), 8'(OL), 8'(MAXG)};
      EIE_REG_LOAD_DATA_LO: rd_val = rd_data[31:0];
      EIE_REG_LOAD_DATA_HI: rd_val = rd_data[63:32];
      EIE_REG_CAP_FIFO: rd_val = {16'(OFIFO_D), 16'(IFIFO_D)};
      default: rd_val = 32'd0;
    endcase
  end

  always_ff @(posedge clk) begin
    if (s_axil_arready) begin
      s_axil_rvalid <= 1'b1;
      s_axil_rdata <= rd_val;
    end else if (s_axil_rready) begin
      s_axil_rvalid <= 1'b0;
    end
    if (wr_fire) s_axil_bvalid <= 1'b1;
    else if (s_axil_bready) s_axil_bvalid <= 1'b0;
    if (!aresetn) begin
      s_axil_rvalid <= 1'b0;
      s_axil_bvalid <= 1'b0;
    end
  end

  // ---------------- engine ----------------
  logic e_start, e_done, e_in_valid, e_in_ready, e_out_valid;
  logic [1:0] e_state;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [LW-1:0] e_layer;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [LA-1:0] e_out_line;
  logic [15:0] e_out_mask;
  logic [16*XW-1:0] e_in_data, e_out_data;
  logic ld_we, ld_bcast;
  logic [2:0] ld_sel;
  logic [5:0] ld_pe;
  logic [31:0] ld_addr;
  logic [63:0] ld_data;
  // readback: LOAD_READ's fields, the engine read (rd_pend) and the captured row (rd_cap)
  logic rd_go, rd_pend, rd_cap;
  logic [2:0] rd_sel;
  logic [5:0] rd_pe;
  logic [15:0] rd_addr;
  logic [63:0] rd_data, e_ld_q;
  assign rd_go = LD_READ != 0 && wr_fire && wr_addr == EIE_REG_LOAD_READ && idle;
  always_ff @(posedge clk) begin
    if (rd_go) begin
      rd_addr <= s_axil_wdata[15:0];
      rd_pe <= s_axil_wdata[21:16];
      rd_sel <= s_axil_wdata[26:24];
    end
    rd_pend <= rd_go;
    rd_cap <= rd_pend;
    if (rd_cap) rd_data <= e_ld_q;
    if (!aresetn) begin
      rd_pend <= 1'b0;
      rd_cap <= 1'b0;
      rd_data <= '0;
    end
  end
  eie_engine #(
      .P(P), .ANYR(ANYR), .MAXG(MAXG), .DMAX(DMAX), .NL(NL), .NX(NX), .XW(XW), .WW(WW),
      .ACCW(ACCW), .CBW(CBW), .IXW(IXW), .ENT_D(ENT_D), .PTR_D(PTR_D), .ACC_D(ACC_D),
      .BIAS_D(BIAS_D), .OL(OL), .INIT_DIR(""), .ENT_L(EPR), .PTR_L(2), .CB_SLOTS(CB_SLOTS),
      .LD_READ(LD_READ), .WALK(WALK), .OVERLAP(OVERLAP), .SKIP(SKIP)
  ) u_engine (
      .clk(clk), .rst(rst), .start(e_start), .start_layer(cfg[EIE_CFG_BASE_LO+:LW]), .done(e_done), .state_o(e_state), .layer_o(e_layer),
      .in_valid(e_in_valid), .in_ready(e_in_ready), .in_data(e_in_data),
      .out_valid(e_out_valid), .out_line(e_out_line), .out_mask(e_out_mask), .out_data(e_out_data),
      .ld_we(ld_we), .ld_bcast(ld_bcast), .ld_sel(ld_sel), .ld_pe(ld_pe), .ld_addr(ld_addr), .ld_data(ld_data),
      .ld_re(rd_pend), .ld_q(e_ld_q));

  // ---------------- input FIFO and unpacker ----------------
  logic if_valid, if_take;
  logic [63:0] if_data;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [$clog2(IFIFO_D)+1:0] if_count;
  /* verilator lint_on UNUSEDSIGNAL */
  eie_axis_fifo #(.WIDTH(64), .DEPTH(IFIFO_D)) u_ififo (
      .clk(clk), .rst(rst), .flush(1'b0), .in_valid(s_axis_in_tvalid), .in_ready(s_axis_in_tready),
      .in_data(s_axis_in_tdata), .out_valid(if_valid), .out_ready(if_take), .out_data(if_data),
      .count(if_count));

  logic [16*XW-1:0] line;
  logic line_valid;
  logic [15:0] vpos;  // index of the next value of the current sample
  logic [4:0] per_beat;
  logic in_fire;
  assign per_beat = (in_bits == 8'd8) ? 5'd8 : (in_bits == 8'd16) ? 5'd4 : 5'd2;
  assign in_fire = e_in_valid && e_in_ready;
  assign if_take = if_valid && (!line_valid || in_fire);
  assign e_in_valid = line_valid;
  assign e_in_data = line;

  always_ff @(posedge clk) begin
    if (in_fire) line_valid <= 1'b0;
    if (if_take) begin : b_take
      logic [16*XW-1:0] nl;
      logic [15:0] vend;
      nl = (vpos[3:0] == 4'd0) ? '0 : line;
      for (int j = 0; j < 8; j++) begin
        if (5'(j) < per_beat && vpos + 16'(j) < n_in) begin : b_lane
          /* verilator lint_off UNUSEDSIGNAL */
          logic [31:0] v;  // XW bits of it reach the line
          /* verilator lint_on UNUSEDSIGNAL */
          if (in_bits == 8'd8) v = in_signed ? 32'($signed(if_data[j*8+:8])) : 32'(if_data[j*8+:8]);
          else if (in_bits == 8'd16) v = in_signed ? 32'($signed(if_data[(j%4)*16+:16])) : 32'(if_data[(j%4)*16+:16]);
          else v = if_data[(j%2)*32+:32];
          nl[32'(4'(vpos[3:0] + 4'(j)))*XW+:XW] = v[XW-1:0];
        end
      end
      line <= nl;
      vend = vpos + 16'(per_beat);
      if (vend >= n_in) begin
        vpos <= '0;
        line_valid <= 1'b1;
      end else begin
        vpos <= vend;
        if (vend[3:0] == 4'd0) line_valid <= 1'b1;
      end
    end
    if (rst) begin
      line_valid <= 1'b0;
      vpos <= '0;
    end
  end

  // ---------------- output: line assembly, line FIFO, serializer ----------------
  logic [16*XW-1:0] asm_q, merged;
  logic push;
  logic [3:0] top;  // highest position written this cycle
  always_comb begin
    top = '0;
    for (int i = 0; i < 16; i++) begin
      merged[i*XW+:XW] = e_out_mask[i] ? e_out_data[i*XW+:XW] : asm_q[i*XW+:XW];
      if (e_out_mask[i]) top = 4'(i);
    end
  end
  assign push = e_out_valid &&
                (e_out_mask[15] || ({e_out_line, top} == (LA + 4)'(n_out - 16'd1)));
  always_ff @(posedge clk) begin
    if (e_out_valid) asm_q <= push ? '0 : merged;
    if (rst) asm_q <= '0;
  end

  logic of_valid, of_pop;
  /* verilator lint_off UNUSEDSIGNAL */
  logic of_in_ready;  // always 1 when pushing: a sample starts only with room for all its lines
  /* verilator lint_on UNUSEDSIGNAL */
  logic [16*XW-1:0] of_data;
  logic [LA+1:0] of_count;
  eie_axis_fifo #(.WIDTH(16 * XW), .DEPTH(OFIFO_D)) u_ofifo (
      .clk(clk), .rst(rst), .flush(1'b0), .in_valid(push), .in_ready(of_in_ready),
      .in_data(merged), .out_valid(of_valid), .out_ready(of_pop), .out_data(of_data),
      .count(of_count));

  logic [15:0] opos;
  logic [4:0] per_obeat;
  logic [15:0] oend;
  logic out_fire, sample_end;
  assign per_obeat = (out_bits == 8'd8) ? 5'd8 : (out_bits == 8'd16) ? 5'd4 : 5'd2;
  assign oend = opos + 16'(per_obeat);
  assign sample_end = oend >= n_out;
  assign out_fire = m_axis_out_tvalid && m_axis_out_tready;
  assign m_axis_out_tvalid = of_valid;
  assign m_axis_out_tlast = sample_end && samples_done + 32'd1 == n_samples;
  assign of_pop = out_fire && (sample_end || oend[3:0] == 4'd0);
  logic [XW-1:0] ov;
  logic [31:0] ow;
  always_comb begin
    m_axis_out_tdata = '0;
    ov = '0;
    ow = '0;
    for (int j = 0; j < 8; j++) begin
      if (5'(j) < per_obeat && opos + 16'(j) < n_out) begin
        ov = of_data[32'(4'(opos[3:0] + 4'(j)))*XW+:XW];
        ow = 32'($signed(ov));
        if (out_bits == 8'd8) m_axis_out_tdata[j*8+:8] = ow[7:0];
        else if (out_bits == 8'd16) m_axis_out_tdata[(j%4)*16+:16] = ow[15:0];
        else m_axis_out_tdata[(j%2)*32+:32] = ow;
      end
    end
  end

  // ---------------- batch control ----------------
  logic eng_busy, room, start_ok, load_ok;
  assign start_ok = ctrl_start && idle && st_loaded;
  assign load_ok = ctrl_load && !ctrl_start && idle;
  logic [31:0] started;
  logic [LA+1:0] lines_needed;
  assign lines_needed = (LA + 2)'((n_out + 16'd15) >> 4);
  assign room = ((LA + 2)'(OFIFO_D) - of_count) >= lines_needed;
  assign e_start = !eng_busy && e_state == 2'd0 &&
                   batch && started != n_samples && room;

  always_ff @(posedge clk) begin
    if (e_start) eng_busy <= 1'b1;
    if (e_done) eng_busy <= 1'b0;
    if (e_start) started <= started + 32'd1;
    if (eng_busy) cyc_sample_run <= cyc_sample_run + 32'd1;
    if (e_start) cyc_sample_run <= 32'd1;
    if (e_done) cyc_sample <= cyc_sample_run + 32'd1;
    if (batch) cyc_batch_run <= cyc_batch_run + 32'd1;
    if (out_fire) begin
      opos <= sample_end ? '0 : oend;
      if (sample_end) begin
        samples_done <= samples_done + 32'd1;
        if (samples_done + 32'd1 == n_samples) begin
          batch <= 1'b0;
          st_done <= 1'b1;
          cyc_batch <= cyc_batch_run + 32'd1;
        end
      end
    end
    if (ctrl_start || ctrl_load) st_refused <= !(start_ok || load_ok);
    if (start_ok) begin
      st_done <= n_samples == 0;
      batch <= n_samples != 0;
      started <= '0;
      samples_done <= '0;
      cyc_batch_run <= '0;
    end
    if (rst) begin
      eng_busy <= 1'b0;
      batch <= 1'b0;
      opos <= '0;
      started <= '0;
    end
    if (!aresetn) begin
      st_done <= 1'b0;
      st_refused <= 1'b0;
      samples_done <= '0;
      cyc_batch <= '0;
      cyc_sample <= '0;
      cyc_sample_run <= '0;
    end
  end

  always_ff @(posedge clk) begin
    srst_q <= ctrl_soft;
    if (wr_fire && wr_addr == EIE_REG_N_SAMPLES && !batch) n_samples <= s_axil_wdata;  // fixed during a batch
    // the model slot: fixed during a batch and a load; values >= MODELS are not taken
    if (wr_fire && wr_addr == EIE_REG_MODEL && idle && s_axil_wdata[3:0] < 4'(MODELS)) sel <= s_axil_wdata[3:0];
    if (wr_fire && wr_addr == EIE_REG_IRQ_EN) irq_en <= s_axil_wdata[EIE_IRQ_EN_DONE];
    if (wr_fire && wr_addr == EIE_REG_IRQ && s_axil_wdata[EIE_IRQ_DONE]) irq_pend <= 1'b0;
    if (out_fire && sample_end && samples_done + 32'd1 == n_samples) irq_pend <= 1'b1;
    if (!aresetn) begin
      srst_q <= 1'b0;
      sel <= '0;
      n_samples <= '0;
      irq_en <= 1'b0;
      irq_pend <= 1'b0;
    end
  end

  // ---------------- loader ----------------
  // One engine write per step. A step takes STEP lanes of the held beat: an entry row (a whole
  // beat: EPR words, one write), two column pointers (one row of three pointers with the one
  // before), or one value (codebook, bias, table word, CONFIG). A broadcast record's step is
  // one write into every PE (ld_bcast). The next beat is taken in the cycle the held one's
  // last step is written, so a record of B beats costs B steps (two per pointer beat) + 2.
  logic have;  // a data beat is held
  logic [63:0] beat;
  logic [3:0] kind;
  logic bcast;
  logic [5:0] pe_t;
  logic [23:0] addr, left;
  logic [3:0] lane;
  logic [PB-1:0] prev;  // the last column pointer of a PTR record
  logic first;
  logic [6:0] lw;  // lane bits of the current kind
  logic [3:0] nstep;  // lanes a step takes
  logic [63:0] val, erow;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] val1;  // PB bits of it are a pointer
  /* verilator lint_on UNUSEDSIGNAL */
  logic ld_fire, in_hdr, step, beat_done, last_step, hdr_bad;
  logic [3:0] h_kind;
  logic [23:0] h_addr, h_count;
  assign h_kind = s_axis_ld_tdata[EIE_LDH_KIND_LO+:4];
  assign h_addr = s_axis_ld_tdata[EIE_LDH_ADDR_LO+:24];
  assign h_count = s_axis_ld_tdata[EIE_LDH_COUNT_LO+:24];
  // entry records fill whole rows, pointer records whole pairs of pointers (model.eie v2)
  assign hdr_bad = (h_kind == EIE_LD_ENT && ((h_addr | h_count) & 24'(EPR - 1)) != 0) ||
                   (h_kind == EIE_LD_PTR && (h_addr[0] || h_count[0]));
  always_comb begin
    case (kind)
      EIE_LD_ENT: lw = 7'(LN_ENT);
      EIE_LD_PTR: lw = 7'(EIE_PTR_LANE);
      EIE_LD_CB: lw = 7'(LN_CB);
      EIE_LD_BIAS: lw = 7'(LN_BIAS);
      EIE_LD_TABLE: lw = 7'(EIE_TABLE_LANE);
      default: lw = 7'd64;
    endcase
    case (kind)
      EIE_LD_ENT: nstep = 4'(EPR);
      EIE_LD_PTR: nstep = 4'd2;
      default: nstep = 4'd1;
    endcase
  end
  assign val = (lw == 7'd64) ? beat : (beat >> (lw * 7'(lane))) & ((64'd1 << lw) - 64'd1);
  assign val1 = (beat >> (lw * 7'(lane + 4'd1))) & ((64'd1 << lw) - 64'd1);  // PTR: the second
  always_comb begin
    erow = '0;
    for (int i = 0; i < EPR; i++) erow[i*ENTW+:ENTW] = beat[i*LN_ENT+:ENTW];
  end
  assign in_hdr = left == '0;
  assign step = have && !in_hdr;
  assign last_step = left == 24'(nstep);
  // the next data beat is taken in the cycle the held one's last step is written
  assign beat_done = step && !last_step && 7'(lane + nstep) * lw >= 7'd64;
  assign s_axis_ld_tready = armed && (in_hdr || !have || beat_done);
  assign ld_fire = s_axis_ld_tvalid && s_axis_ld_tready;
  // a PTR record's first step (a pad and the first pointer) only sets prev
  assign ld_we = step && kind != EIE_LD_CONFIG && !(kind == EIE_LD_PTR && first);
  assign ld_bcast = bcast && kind != EIE_LD_TABLE;
  assign ld_sel = rd_pend ? rd_sel : (kind == EIE_LD_TABLE) ? 3'd4 : kind[2:0];
  assign ld_pe = rd_pend ? rd_pe : pe_t;
  assign ld_addr = rd_pend ? 32'(rd_addr) : 32'(addr);
  always_comb begin
    case (kind)
      EIE_LD_ENT: ld_data = erow;
      EIE_LD_PTR: ld_data = 64'({val1[PB-1:0], val[PB-1:0], prev});
      default: ld_data = val;
    endcase
  end

  always_ff @(posedge clk) begin
    if (armed) load_cycles_run <= load_cycles_run + 32'd1;
    if (ld_fire) load_words <= load_words + 32'd1;
    if (ld_fire && in_hdr) begin
      kind <= h_kind;
      bcast <= s_axis_ld_tdata[EIE_LDH_BCAST_LO];
      pe_t <= s_axis_ld_tdata[EIE_LDH_PE_LO+:6];
      // the engine's row address: entry rows of EPR words, pointer rows of two pairs
      addr <= (h_kind == EIE_LD_ENT) ? h_addr >> LEPR : (h_kind == EIE_LD_PTR) ? h_addr >> 1 : h_addr;
      left <= h_count;
      lane <= '0;
      first <= 1'b1;
      have <= 1'b0;
      case (h_kind)
        EIE_LD_END: begin
          armed <= 1'b0;
          loaded_m[msel] <= 1'b1;
          load_cycles <= load_cycles_run + 32'd1;
        end
        EIE_LD_ENT, EIE_LD_PTR, EIE_LD_CB, EIE_LD_BIAS, EIE_LD_TABLE, EIE_LD_CONFIG: begin
          if (hdr_bad) begin
            armed <= 1'b0;
            st_load_err <= 1'b1;
            left <= '0;
          end
        end
        default: begin
          armed <= 1'b0;
          st_load_err <= 1'b1;
          left <= '0;
        end
      endcase
    end
    if (step) begin
      if (kind == EIE_LD_CONFIG) cfg_m[msel] <= beat;
      if (kind == EIE_LD_PTR) prev <= val1[PB-1:0];
      first <= 1'b0;
      if (!(kind == EIE_LD_PTR && first)) addr <= addr + 24'd1;
      left <= left - 24'(nstep);
      lane <= lane + nstep;
      if (last_step || 7'(lane + nstep) * lw >= 7'd64) begin
        have <= 1'b0;
        lane <= '0;
      end
    end
    if (ld_fire && !in_hdr) begin
      beat <= s_axis_ld_tdata;
      have <= 1'b1;
    end
    if (load_ok) begin
      armed <= 1'b1;
      loaded_m[msel] <= 1'b0;
      st_load_err <= 1'b0;
      load_words <= '0;
      load_cycles_run <= '0;
      left <= '0;
      have <= 1'b0;
    end
    if (rst) begin
      armed <= 1'b0;
      left <= '0;
      have <= 1'b0;
    end
    if (!aresetn) begin
      loaded_m <= '0;
      st_load_err <= 1'b0;
      load_words <= '0;
      load_cycles <= '0;
      for (int m = 0; m < MODELS; m++) cfg_m[m] <= '0;
    end
  end

  initial begin
    if (P > 64) $error("eie_axi: P <= 64 (6-bit load PE)");
    if (MODELS < 1 || MODELS > 16) $error("eie_axi: MODELS must be 1..16 (MODEL.SEL is 4 bits)");
    if ((IFIFO_D & (IFIFO_D - 1)) != 0) $error("eie_axi: IFIFO_D must be a power of two");
  end
endmodule
`default_nettype wire
