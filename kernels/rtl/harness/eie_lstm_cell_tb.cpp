// Verilator testbench of eie_lstm_cell (the LSTM element-wise unit), one stimulus row a cycle.
//
//   eie_lstm_cell_tb <in.bin> <out.bin>
// in.bin  (int32 little-endian): n, then n rows of (in_valid, in_gate, in_x, in_c)
// out.bin (int32): n rows of (out_valid, out_h, out_c) sampled in the same cycle as the row's
//         inputs are applied (before its clock edge), sign-extended from EIE_HW / EIE_CLW bits.
// Two reset cycles come first (not recorded). The tables are read by $readmemh from the
// working directory (sig.mem, tanh.mem). Exit 1 with a message on a malformed file or a stop.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "Veie_lstm_cell.h"
#include "verilated.h"

static int64_t sext(uint64_t v, int bits) {
  uint64_t m = (bits >= 64) ? ~0ull : ((1ull << bits) - 1);
  v &= m;
  if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~m;
  return (int64_t)v;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: eie_lstm_cell_tb in.bin out.bin\n");
    return 1;
  }
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<Veie_lstm_cell>(ctx.get());
  FILE* f = std::fopen(argv[1], "rb");
  int32_t n = 0;
  if (!f || std::fread(&n, 4, 1, f) != 1 || n < 0) {
    std::fprintf(stderr, "eie_lstm_cell_tb: cannot read %s\n", argv[1]);
    return 1;
  }
  std::vector<int32_t> in((size_t)n * 4), out((size_t)n * 3);
  if (std::fread(in.data(), 4, in.size(), f) != in.size()) {
    std::fprintf(stderr, "eie_lstm_cell_tb: %s is shorter than its %d rows\n", argv[1], n);
    return 1;
  }
  std::fclose(f);
  const uint64_t gmask = (1ull << EIE_GW) - 1, cmask = (1ull << EIE_CLW) - 1;
  auto edge = [&]() {
    top->clk = 1;
    top->eval();
    top->clk = 0;
    top->eval();
  };
  top->clk = 0;
  top->rst = 1;
  top->in_valid = 0;
  top->eval();
  edge();
  edge();
  top->rst = 0;
  for (int32_t k = 0; k < n; k++) {
    const int32_t* r = &in[(size_t)k * 4];
    top->in_valid = r[0] & 1;
    top->in_gate = r[1] & 3;
    top->in_x = (uint64_t)(uint32_t)r[2] & gmask;
    top->in_c = (uint64_t)(uint32_t)r[3] & cmask;
    top->eval();
    out[(size_t)k * 3 + 0] = top->out_valid;
    out[(size_t)k * 3 + 1] = (int32_t)sext(top->out_h, EIE_HW);
    out[(size_t)k * 3 + 2] = (int32_t)sext(top->out_c, EIE_CLW);
    edge();
    if (ctx->gotFinish() || ctx->gotError()) {
      std::fprintf(stderr, "eie_lstm_cell_tb: the simulation stopped at row %d\n", k);
      return 1;
    }
  }
  FILE* g = std::fopen(argv[2], "wb");
  if (!g || std::fwrite(out.data(), 4, out.size(), g) != out.size()) {
    std::fprintf(stderr, "eie_lstm_cell_tb: cannot write %s\n", argv[2]);
    return 1;
  }
  std::fclose(g);
  top->final();
  return 0;
}
