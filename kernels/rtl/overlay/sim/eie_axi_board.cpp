// eie_axi_board: the board around a Verilator model of eie_axi, as a shared library for ctypes
// (flow/runtime/sim_rtl.py drives it; flow/overlay/simlib.py builds it).
//
// The host side of a PYNQ board, cycle by cycle, through the wrapper's AXI ports only:
//   - an AXI4-Lite master (eb_read / eb_write: one transaction each, its handshake cycles
//     simulated, random delays on awvalid/wvalid/arvalid and bready/rready);
//   - three DMA stream engines: channel 0 = axi_dma_0 MM2S -> s_axis_in, channel 1 = axi_dma_0
//     S2MM <- m_axis_out, channel 2 = axi_dma_1 MM2S -> s_axis_ld. A channel is started on a
//     byte buffer owned by the caller (the simulated DDR); an MM2S channel presents its beats
//     with random gaps (tvalid, once high, stays high until taken: AXI4-Stream's rule) and is
//     done when the last beat was taken; the S2MM channel takes beats with random tready gaps
//     and is done on TLAST, or fails when its buffer is full before TLAST (the AXI DMA's
//     internal error);
//   - eb_run ticks the clock until a channel is no longer busy or a cycle budget is used up.
// Stalls: every cycle each random gap is drawn with probability p_stall (eb_set_stall: per
// stream) from a seeded xorshift generator (one per stream), so a run is reproducible from its seed.
// Verilator's $error/$fatal do not abort the process (fatalOnError off): eb_error reports them.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "Veie_axi.h"
#include "verilated.h"

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
    if (!s) s = 1;
  }
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  bool chance(double p) { return p > 0 && (next() >> 11) * (1.0 / 9007199254740992.0) < p; }
};

enum State { IDLE = 0, BUSY = 1, DONE = 2, OVERFLOW = 3 };

struct Channel {
  uint8_t* buf = nullptr;
  uint64_t beats = 0;  // beats in the buffer (8 bytes each)
  uint64_t pos = 0;    // beats moved so far
  int state = IDLE;
  bool valid = false;  // MM2S: the current beat is presented
};

struct Board {
  std::unique_ptr<VerilatedContext> ctx;
  std::unique_ptr<Veie_axi> top;
  uint64_t cycle = 0;
  double p_stall;
  double p_ch[4];  // per stream (0 in, 1 out, 2 load) and the AXI4-Lite master (3); 1.0 wedges it
  Rng r_lite, r_in, r_out, r_ld;
  Channel ch[3];
  std::string error;
  // AXI4-Lite handshakes of the last edge
  bool aw_fire = false, w_fire = false, b_fire = false, ar_fire = false, r_fire = false;
  uint32_t rdata = 0;

  Board(uint64_t seed, double p)
      : p_stall(p), p_ch{p, p, p, p}, r_lite(seed + 1), r_in(seed + 2), r_out(seed + 3), r_ld(seed + 4) {}
};

uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

bool stopped(Board* b) {
  if (b->ctx->gotError() || b->ctx->gotFinish()) {
    if (b->error.empty()) b->error = "the RTL stopped the simulation ($error, $fatal or $finish)";
    return true;
  }
  return false;
}

// Drive the stream inputs for this cycle (before the rising edge), from the channels' state.
void drive_streams(Board* b) {
  Veie_axi* t = b->top.get();
  Channel& in = b->ch[0];
  Channel& out = b->ch[1];
  Channel& ld = b->ch[2];
  for (int k : {0, 2}) {
    Channel& c = b->ch[k];
    Rng& r = k == 0 ? b->r_in : b->r_ld;
    if (c.state == BUSY && !c.valid) c.valid = !r.chance(b->p_ch[k]);
    if (c.state != BUSY) c.valid = false;
  }
  t->s_axis_in_tvalid = in.valid;
  t->s_axis_in_tdata = in.valid ? get64(in.buf + 8 * in.pos) : 0;
  t->s_axis_ld_tvalid = ld.valid;
  t->s_axis_ld_tdata = ld.valid ? get64(ld.buf + 8 * ld.pos) : 0;
  // S2MM: tready only while a transfer is programmed (a halted or finished channel holds it low)
  t->m_axis_out_tready = out.state == BUSY && !b->r_out.chance(b->p_ch[1]);
}

// One clock cycle: inputs driven, handshakes sampled before the edge, then the edge.
void tick(Board* b) {
  Veie_axi* t = b->top.get();
  drive_streams(b);
  t->clk = 0;
  t->eval();
  // sample the handshakes at the edge (the design's outputs settle from this cycle's inputs)
  bool in_fire = t->s_axis_in_tvalid && t->s_axis_in_tready;
  bool ld_fire = t->s_axis_ld_tvalid && t->s_axis_ld_tready;
  bool out_fire = t->m_axis_out_tvalid && t->m_axis_out_tready;
  uint64_t out_data = t->m_axis_out_tdata;
  bool out_last = t->m_axis_out_tlast;
  b->aw_fire = t->s_axil_awvalid && t->s_axil_awready;
  b->w_fire = t->s_axil_wvalid && t->s_axil_wready;
  b->b_fire = t->s_axil_bvalid && t->s_axil_bready;
  b->ar_fire = t->s_axil_arvalid && t->s_axil_arready;
  b->r_fire = t->s_axil_rvalid && t->s_axil_rready;
  b->rdata = t->s_axil_rdata;
  t->clk = 1;
  t->eval();
  ++b->cycle;
  for (int k : {0, 2}) {
    Channel& c = b->ch[k];
    if (k == 0 ? in_fire : ld_fire) {
      c.valid = false;
      if (++c.pos == c.beats) c.state = DONE;
    }
  }
  Channel& out = b->ch[1];
  if (out_fire) {
    put64(out.buf + 8 * out.pos, out_data);
    ++out.pos;
    if (out_last) out.state = DONE;
    else if (out.pos == out.beats) out.state = OVERFLOW;
  }
}

}  // namespace

extern "C" {

// A board with a fresh model, held in reset for 8 cycles. seed: the stalls and Verilator's
// random initial values (--x-initial unique builds); p_stall: probability of a gap per cycle.
void* eb_open(uint64_t seed, double p_stall) {
  auto* b = new Board(seed, p_stall);
  b->ctx = std::make_unique<VerilatedContext>();
  b->ctx->fatalOnError(false);
  b->ctx->randReset(2);
  b->ctx->randSeed(static_cast<int>(seed & 0x7fffffff));
  b->top = std::make_unique<Veie_axi>(b->ctx.get());
  Veie_axi* t = b->top.get();
  t->aresetn = 0;
  t->s_axil_awvalid = t->s_axil_wvalid = t->s_axil_arvalid = 0;
  t->s_axil_bready = t->s_axil_rready = 0;
  t->s_axil_wstrb = 0xF;
  for (int i = 0; i < 8; ++i) tick(b);
  t->aresetn = 1;
  tick(b);
  return b;
}

void eb_close(void* h) {
  auto* b = static_cast<Board*>(h);
  if (!b) return;
  b->top->final();
  delete b;
}

// Gap probability of one stream (0 in, 1 out, 2 load; 3 the AXI4-Lite master): 1.0 wedges it
// (tvalid or tready never rises), for tests of the host's timeouts.
void eb_set_stall(void* h, int ch, double p) { static_cast<Board*>(h)->p_ch[ch] = p; }

uint64_t eb_cycles(void* h) { return static_cast<Board*>(h)->cycle; }

int eb_irq(void* h) { return static_cast<Board*>(h)->top->irq; }

// Copy the last error into msg (n bytes); its length, 0 when none.
int eb_error(void* h, char* msg, int n) {
  auto* b = static_cast<Board*>(h);
  stopped(b);
  if (n > 0) std::snprintf(msg, static_cast<size_t>(n), "%s", b->error.c_str());
  return static_cast<int>(b->error.size());
}

// AXI4-Lite write; 0 ok, -1 the slave did not answer within `limit` cycles, -2 the RTL stopped.
int eb_write(void* h, uint32_t addr, uint32_t data, uint32_t limit) {
  auto* b = static_cast<Board*>(h);
  Veie_axi* t = b->top.get();
  bool aw = false, w = false;
  t->s_axil_awaddr = addr & 0xFF;
  t->s_axil_wdata = data;
  for (uint32_t n = 0; n < limit; ++n) {
    if (stopped(b)) return -2;
    if (!aw) t->s_axil_awvalid = t->s_axil_awvalid || !b->r_lite.chance(b->p_ch[3]);
    if (!w) t->s_axil_wvalid = t->s_axil_wvalid || !b->r_lite.chance(b->p_ch[3]);
    t->s_axil_bready = !b->r_lite.chance(b->p_ch[3]);
    tick(b);
    if (b->aw_fire) { aw = true; t->s_axil_awvalid = 0; }
    if (b->w_fire) { w = true; t->s_axil_wvalid = 0; }
    if (b->b_fire && aw && w) {
      t->s_axil_bready = 0;
      return 0;
    }
  }
  t->s_axil_awvalid = t->s_axil_wvalid = t->s_axil_bready = 0;
  b->error = "AXI4-Lite write to " + std::to_string(addr) + " not answered";
  return -1;
}

// AXI4-Lite read into *data; 0 ok, -1 no answer within `limit` cycles, -2 the RTL stopped.
int eb_read(void* h, uint32_t addr, uint32_t* data, uint32_t limit) {
  auto* b = static_cast<Board*>(h);
  Veie_axi* t = b->top.get();
  bool ar = false;
  t->s_axil_araddr = addr & 0xFF;
  for (uint32_t n = 0; n < limit; ++n) {
    if (stopped(b)) return -2;
    if (!ar) t->s_axil_arvalid = t->s_axil_arvalid || !b->r_lite.chance(b->p_ch[3]);
    t->s_axil_rready = !b->r_lite.chance(b->p_ch[3]);
    tick(b);
    if (b->ar_fire) { ar = true; t->s_axil_arvalid = 0; }
    if (b->r_fire && ar) {
      t->s_axil_rready = 0;
      *data = b->rdata;
      return 0;
    }
  }
  t->s_axil_arvalid = t->s_axil_rready = 0;
  b->error = "AXI4-Lite read of " + std::to_string(addr) + " not answered";
  return -1;
}

// Start channel ch (0 in MM2S, 1 out S2MM, 2 load MM2S) on nbytes of buf (a multiple of 8).
// A zero-length transfer is done at once (the caller refuses it as the AXI DMA does).
void eb_start(void* h, int ch, uint8_t* buf, uint64_t nbytes) {
  Channel& c = static_cast<Board*>(h)->ch[ch];
  c.buf = buf;
  c.beats = nbytes / 8;
  c.pos = 0;
  c.valid = false;
  c.state = c.beats ? BUSY : DONE;
}

// Stop channel ch (DMA reset or halt): its beat is withdrawn, nothing more moves.
void eb_stop(void* h, int ch) {
  Channel& c = static_cast<Board*>(h)->ch[ch];
  c.state = IDLE;
  c.valid = false;
}

// The channel's state (0 idle, 1 busy, 2 done, 3 S2MM buffer full before TLAST); *bytes moved.
int eb_state(void* h, int ch, uint64_t* bytes) {
  Channel& c = static_cast<Board*>(h)->ch[ch];
  if (bytes) *bytes = 8 * c.pos;
  return c.state;
}

// Tick until channel `until` (-1: any channel) is no longer busy, or `max_cycles` are done, or
// the RTL stopped (-1 returned); else the cycles ticked.
int64_t eb_run(void* h, uint64_t max_cycles, int until) {
  auto* b = static_cast<Board*>(h);
  uint64_t n = 0;
  auto busy = [&]() {
    if (until >= 0) return b->ch[until].state == BUSY;
    return b->ch[0].state == BUSY || b->ch[1].state == BUSY || b->ch[2].state == BUSY;
  };
  while (n < max_cycles && busy()) {
    if (stopped(b)) return -1;
    tick(b);
    ++n;
  }
  return static_cast<int64_t>(n);
}

// Tick exactly n cycles (the host's time between register accesses); -1 when the RTL stopped.
int64_t eb_idle(void* h, uint64_t n) {
  auto* b = static_cast<Board*>(h);
  for (uint64_t i = 0; i < n; ++i) {
    if (stopped(b)) return -1;
    tick(b);
  }
  return static_cast<int64_t>(n);
}

}  // extern "C"
