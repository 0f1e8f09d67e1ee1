// Verilator testbench of eie_engine: runs many inferences in one process.
//
//   eie_harness <in.bin> <out.bin> [<load.txt>] [+plusargs...]
// in.bin  (int32 little-endian): n_images, n_in, n_out, n_layers, then n_images x n_in raw inputs
// out.bin (int32): per image n_out raw outputs, then n_layers per-layer cycles, then the period
//         (cycles from the start pulse to the next possible start: non-idle cycles + 1)
// load.txt: lines "sel pe addr data_hex" written through the load port before the first image
// (the $readmemh images in the working directory are loaded at time 0 either way).
// Plusargs (any position; all of them also reach Verilator's context, so
// +verilator+seed+N and +verilator+rand+reset+2 take effect on an --x-initial unique build):
//   +eie_reset=<image>,<cycle>,<len>  assert rst for <len> cycles from cycle <cycle> of image
//       <image> (cycle 0: the start pulse), then run that image again from its start; the
//       recorded outputs and cycles are the second run's. Prints the state and layer it hit.
//   +eie_reset_load=<n>,<len>  assert rst for <len> cycles after <n> load-port writes (the
//       writes go on: the memories have no reset).
// A build with --trace-fst (VM_TRACE) writes every cycle to the FST file named by $EIE_TRACE, when set.
// Exit code 0; 1 with a message on a malformed file, a timeout, a stop of the simulation
// ($error / $fatal in the RTL's simulation checks), or a requested reset that never happened.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "Veie_engine.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
static VerilatedFstC* tfp = nullptr;
#endif

static VerilatedContext* ctxp;
static Veie_engine* top;
static uint64_t cycle = 0;

// one dump per clock edge (time 2 * cycle + clk), when tracing
static void dump() {
#if VM_TRACE
  if (tfp) tfp->dump(2 * cycle + top->clk);
#endif
}

static int fail(const char* msg) {
  std::fprintf(stderr, "eie_harness: %s\n", msg);
#if VM_TRACE
  if (tfp) tfp->close();  // the trace up to the failure (a timeout's is the one to look at)
#endif
  return 1;
}

static bool stopped() { return ctxp->gotFinish() || ctxp->gotError(); }

static void tick() {
  top->clk = 0;
  top->eval();
  dump();
  top->clk = 1;
  top->eval();
  dump();
  ++cycle;
}

struct ResetAt {
  long image = -1, cycle = -1, len = 0;  // image -1: none
  bool fired = false;
};

// One inference of image xi into oi; returns 0 done, 1 reset (run it again), -1 error.
static int run_image(const int32_t* xi, int32_t* oi, int n_in, int n_out, int n_layers,
                     ResetAt* rs) {
  const int n_lines = (n_in + 15) / 16;
  const int xw = EIE_XW;
  for (int k = 0; k < n_out + n_layers + 1; ++k) oi[k] = 0;
  int line = 0;
  uint64_t busy = 0;
  long t = 0;
  top->start = 1;
  for (uint64_t limit = 1000000; limit; --limit, ++t) {
    top->clk = 0;
    // input line `line`: 16 activations of XW bits, packed LSB first
    for (int wd = 0; wd < (16 * xw + 31) / 32; ++wd) top->in_data[wd] = 0;
    if (line < n_lines) {
      for (int b = 0; b < 16; ++b) {
        const int j = line * 16 + b;
        const uint32_t v = j < n_in ? static_cast<uint32_t>(xi[j]) & ((1u << xw) - 1u) : 0u;
        const int bit = b * xw;
        top->in_data[bit / 32] |= v << (bit % 32);
        if ((bit % 32) + xw > 32) top->in_data[bit / 32 + 1] |= v >> (32 - bit % 32);
      }
    }
    top->in_valid = line < n_lines;
    top->eval();
    dump();
    if (rs && !rs->fired && t == rs->cycle) {
      std::fprintf(stderr, "eie_harness: reset at cycle %ld of image %ld: state %d layer %d, for %ld cycles\n",
                   t, rs->image, static_cast<int>(top->state_o), static_cast<int>(top->layer_o), rs->len);
      rs->fired = true;
      top->in_valid = 0;
      top->start = 0;
      top->rst = 1;
      for (long k = 0; k < rs->len; ++k) tick();
      top->rst = 0;
      tick();
      return 1;
    }
    const bool fire = top->in_valid && top->in_ready;
    if (top->state_o != 0) {
      ++busy;
      oi[n_out + top->layer_o] += 1;
    }
    if (top->out_valid) {
      for (int b = 0; b < 16; ++b) {
        if (!((top->out_mask >> b) & 1)) continue;
        const int i = top->out_line * 16 + b;
        const int bit = b * xw;
        uint64_t lo = top->out_data[bit / 32] >> (bit % 32);
        if ((bit % 32) + xw > 32) lo |= static_cast<uint64_t>(top->out_data[bit / 32 + 1]) << (32 - bit % 32);
        int64_t v = static_cast<int64_t>(lo & ((1ull << xw) - 1ull));
        if (v >> (xw - 1)) v -= (1ll << xw);
        if (i < n_out) oi[i] = static_cast<int32_t>(v);
      }
    }
    top->clk = 1;
    top->eval();
    dump();
    ++cycle;
    if (stopped()) return -1;
    top->start = 0;
    if (fire) ++line;
    if (top->done) {
      oi[n_out + n_layers] = static_cast<int32_t>(busy + 1);
      return 0;
    }
  }
  std::fprintf(stderr, "eie_harness: timeout: no done after 1,000,000 cycles (state %d, layer %d)\n",
               static_cast<int>(top->state_o), static_cast<int>(top->layer_o));
  return -1;
}

int main(int argc, char** argv) {
  auto ctx = std::make_unique<VerilatedContext>();
  ctxp = ctx.get();
  ctx->commandArgs(argc, argv);  // before the model exists: its random initial state uses the seed
  std::vector<const char*> pos;
  ResetAt rs, rl;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '+') {
      pos.push_back(argv[i]);
    } else if (!std::strncmp(argv[i], "+eie_reset=", 11)) {
      if (std::sscanf(argv[i] + 11, "%ld,%ld,%ld", &rs.image, &rs.cycle, &rs.len) != 3 || rs.len < 1)
        return fail("+eie_reset=<image>,<cycle>,<len> (len >= 1)");
    } else if (!std::strncmp(argv[i], "+eie_reset_load=", 16)) {
      if (std::sscanf(argv[i] + 16, "%ld,%ld", &rl.cycle, &rl.len) != 2 || rl.len < 1)
        return fail("+eie_reset_load=<n>,<len> (len >= 1)");
    }
  }
  if (pos.size() < 2) return fail("usage: eie_harness <in.bin> <out.bin> [<load.txt>] [+plusargs]");
#if VM_TRACE
  const char* trace_path = std::getenv("EIE_TRACE");
  if (trace_path) ctxp->traceEverOn(true);
#endif
  top = new Veie_engine{ctxp};
#if VM_TRACE
  if (trace_path) {
    tfp = new VerilatedFstC;
    top->trace(tfp, 99);
    tfp->open(trace_path);
  }
#endif
  FILE* fin = std::fopen(pos[0], "rb");
  if (!fin) return fail("cannot open the input file");
  int32_t hdr[4];
  if (std::fread(hdr, 4, 4, fin) != 4) return fail("short header");
  const int n_img = hdr[0], n_in = hdr[1], n_out = hdr[2], n_layers = hdr[3];
  std::vector<int32_t> x(static_cast<size_t>(n_img) * n_in);
  if (std::fread(x.data(), 4, x.size(), fin) != x.size()) return fail("short input data");
  std::fclose(fin);

  top->rst = 1;
  top->start = 0;
  top->in_valid = 0;
  top->ld_we = 0;
  top->ld_bcast = 0;
  top->start_layer = 0;
  top->ld_re = 0;
  tick();
  tick();
  top->rst = 0;
  tick();

  if (pos.size() > 2) {
    FILE* fl = std::fopen(pos[2], "r");
    if (!fl) return fail("cannot open the load file");
    unsigned sel, pe, addr;
    unsigned long long data;
    long n = 0, rst_left = 0;
    while (std::fscanf(fl, "%u %u %u %llx", &sel, &pe, &addr, &data) == 4) {
      if (!rl.fired && n == rl.cycle) {
        std::fprintf(stderr, "eie_harness: reset after %ld load writes, for %ld cycles\n", n, rl.len);
        rl.fired = true;
        rst_left = rl.len;
      }
      top->rst = rst_left > 0;
      if (rst_left > 0) --rst_left;
      top->ld_we = 1;
      top->ld_sel = sel;
      top->ld_pe = pe;
      top->ld_addr = addr;
      top->ld_data = data;
      tick();
      ++n;
    }
    top->ld_we = 0;
    for (; rst_left > 0; --rst_left) tick();
    top->rst = 0;
    std::fclose(fl);
    tick();
    if (rl.cycle >= 0 && !rl.fired) return fail("+eie_reset_load: fewer load writes than requested");
  }

  std::vector<int32_t> out(static_cast<size_t>(n_img) * (n_out + n_layers + 1));
  for (int im = 0; im < n_img; ++im) {
    const int32_t* xi = &x[static_cast<size_t>(im) * n_in];
    int32_t* oi = &out[static_cast<size_t>(im) * (n_out + n_layers + 1)];
    int r;
    while ((r = run_image(xi, oi, n_in, n_out, n_layers, im == rs.image && !rs.fired ? &rs : nullptr)) == 1) {
    }
    if (r < 0) {
      if (stopped()) return fail("the simulation stopped (an $error or $fatal of the RTL, above)");
      return 1;
    }
  }
  if (rs.image >= 0 && !rs.fired) return fail("+eie_reset: the image ended before the requested cycle");
  FILE* fo = std::fopen(pos[1], "wb");
  if (!fo) return fail("cannot open the output file");
  std::fwrite(out.data(), 4, out.size(), fo);
  std::fclose(fo);
  top->final();
#if VM_TRACE
  if (tfp) tfp->close();
#endif
  delete top;
  return 0;
}
