// Verilator testbench of eie_engine: runs many inferences in one process.
//
//   eie_harness <in.bin> <out.bin> [<load.txt>]
// in.bin  (int32 little-endian): n_images, n_in, n_out, n_layers, then n_images x n_in raw inputs
// out.bin (int32): per image n_out raw outputs, then n_layers per-layer cycles, then the period
//         (cycles from the start pulse to the next possible start: non-idle cycles + 1)
// load.txt: lines "sel pe addr data_hex" written through the load port before the first image
// (the $readmemh images in the working directory are loaded at time 0 either way).
// Exit code 0; 1 with a message on a malformed file or a timeout.
// A build with --trace-fst (VM_TRACE) writes every cycle to the FST file named by $EIE_TRACE, when set.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "Veie_engine.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
static VerilatedFstC* tfp = nullptr;
#endif

static Veie_engine* top;
static uint64_t cycle = 0;

// one dump per clock edge (time 2 * cycle + clk), when tracing
static void dump() {
#if VM_TRACE
  if (tfp) tfp->dump(2 * cycle + top->clk);
#endif
}

static void tick() {
  top->clk = 0;
  top->eval();
  dump();
  top->clk = 1;
  top->eval();
  dump();
  ++cycle;
}

static int fail(const char* msg) {
  std::fprintf(stderr, "eie_harness: %s\n", msg);
#if VM_TRACE
  if (tfp) tfp->close();  // the trace up to the failure (a timeout's is the one to look at)
#endif
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: eie_harness <in.bin> <out.bin> [<load.txt>]");
  Verilated::commandArgs(1, argv);
  auto ctx = std::make_unique<VerilatedContext>();
#if VM_TRACE
  const char* trace_path = std::getenv("EIE_TRACE");
  if (trace_path) ctx->traceEverOn(true);
#endif
  top = new Veie_engine{ctx.get()};
#if VM_TRACE
  if (trace_path) {
    tfp = new VerilatedFstC;
    top->trace(tfp, 99);
    tfp->open(trace_path);
  }
#endif
  FILE* fin = std::fopen(argv[1], "rb");
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
  tick();
  tick();
  top->rst = 0;
  tick();

  if (argc > 3) {
    FILE* fl = std::fopen(argv[3], "r");
    if (!fl) return fail("cannot open the load file");
    unsigned sel, pe, addr;
    unsigned long long data;
    while (std::fscanf(fl, "%u %u %u %llx", &sel, &pe, &addr, &data) == 4) {
      top->ld_we = 1;
      top->ld_sel = sel;
      top->ld_pe = pe;
      top->ld_addr = addr;
      top->ld_data = data;
      tick();
    }
    top->ld_we = 0;
    std::fclose(fl);
    tick();
  }

  const int n_lines = (n_in + 15) / 16;
  const int words = (16 * 16 + 31) / 32;  // in_data words are filled per XW below
  (void)words;
  std::vector<int32_t> out(static_cast<size_t>(n_img) * (n_out + n_layers + 1));
  for (int im = 0; im < n_img; ++im) {
    const int32_t* xi = &x[static_cast<size_t>(im) * n_in];
    int32_t* oi = &out[static_cast<size_t>(im) * (n_out + n_layers + 1)];
    for (int k = 0; k < n_out + n_layers + 1; ++k) oi[k] = 0;
    int line = 0;
    uint64_t busy = 0;
    top->start = 1;
    bool done = false;
    uint64_t limit = 1000000;
    while (!done) {
      top->clk = 0;
      // input line `line`: 16 activations of XW bits, packed LSB first
      const int xw = EIE_XW;
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
      top->start = 0;
      if (fire) ++line;
      if (top->done) done = true;
      if (--limit == 0) return fail("timeout: no done after 1,000,000 cycles");
    }
    oi[n_out + n_layers] = static_cast<int32_t>(busy + 1);
  }
  FILE* fo = std::fopen(argv[2], "wb");
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
