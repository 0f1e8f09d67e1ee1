// Testbench of eie::dense (plain g++, no vendor tools).
//   usage: eie_dense_tb <inputs.txt> <expected.txt>
// inputs.txt: one sample per line, N_IN raw integers of input_t; expected.txt: N_OUT raw integers of
// output_t per line, from flow/eie/reference.py. Each output is checked against the Python vectors
// and against a golden model here that decodes the CSC ROMs into a dense matrix. Prints the first
// mismatch and returns 1; prints PASS and returns 0 otherwise.
#include <cstdio>
#include <vector>

#include "eie_dense_top.h"

// Golden model: decode every PE's CSC slice (entry words code << index_bits | rel_index, zero runs,
// fillers; pointer pairs end << ptr_bits | start) into dense W raw values,
// then acc = (bias << bias_shift) + sum W x, ReLU, and an ap_fixed cast through accum_t.
// Column groups: PE p is PE q = p % R of group g = p / R; its local column c is input column c * G + g
// and its local row r is row r * R + q (R = n_pe / G); a group's padding column (j >= N_IN) is empty.
static void golden(const std::vector<long long>& x, std::vector<long long>& y) {
  static std::vector<long long> w;
  if (w.empty()) {
    const unsigned G = config_tb::col_groups, R = config_tb::n_pe / config_tb::col_groups;
    w.assign((size_t)N_OUT * N_IN, 0);
    for (unsigned p = 0; p < config_tb::n_pe; p++) {
      for (unsigned c = 0; c < config_tb::n_cols; c++) {
        const unsigned j = c * G + p / R;
        long long row = -1;
        const unsigned long long pair = eie_colptr_tb[p][c];
        const unsigned long long ptr_mask = (1ull << config_tb::ptr_bits) - 1;
        for (unsigned e = pair & ptr_mask; e < (pair >> config_tb::ptr_bits); e++) {
          const unsigned code = eie_entries_tb[p][e] >> config_tb::index_bits;
          row += (eie_entries_tb[p][e] & ((1u << config_tb::index_bits) - 1)) + 1;
          const long long i = row * R + p % R;
          if (code != 0) w[(size_t)i * N_IN + j] = eie_codebook_tb[code].to_int64();
        }
      }
    }
  }
  for (unsigned i = 0; i < N_OUT; i++) {
    long long acc = eie_bias_tb[i].to_int64() * (1LL << config_tb::bias_shift);
    for (unsigned j = 0; j < N_IN; j++) acc += w[(size_t)i * N_IN + j] * x[j];
    if (config_tb::activation == eie::relu && acc < 0) acc = 0;
    config_tb::accum_t a;
    a.range(config_tb::accum_t::width - 1, 0) = ap_int<config_tb::accum_t::width>(acc);
    output_t o = a;
    y[i] = eie::raw_bits(o);
  }
}

static bool read_row(FILE* f, std::vector<long long>& v) {
  for (size_t k = 0; k < v.size(); k++)
    if (std::fscanf(f, "%lld", &v[k]) != 1) return false;
  return true;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <inputs.txt> <expected.txt>\n", argv[0]);
    return 2;
  }
  FILE* fin = std::fopen(argv[1], "r");
  FILE* fexp = std::fopen(argv[2], "r");
  if (!fin || !fexp) {
    std::fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  std::vector<long long> x(N_IN), expected(N_OUT), gold(N_OUT);
  input_t data[N_IN];
  output_t res[N_OUT];
  unsigned n = 0;
  while (read_row(fin, x)) {
    if (!read_row(fexp, expected)) {
      std::fprintf(stderr, "expected.txt has fewer samples than inputs.txt (%u)\n", n);
      return 2;
    }
    for (unsigned j = 0; j < N_IN; j++) eie::set_raw_bits(data[j], x[j]);
    eie_dense_top(data, res);
    golden(x, gold);
    for (unsigned i = 0; i < N_OUT; i++) {
      const long long got = eie::raw_bits(res[i]);
      if (got != expected[i] || got != gold[i]) {
        std::printf("MISMATCH sample %u output %u: kernel %lld, python reference %lld, golden %lld\n", n, i, got,
                    expected[i], gold[i]);
        return 1;
      }
    }
    n++;
  }
  std::printf("PASS %u samples, %u outputs each, last PE-array cycles %llu\n", n, (unsigned)N_OUT,
              eie::cycle_counter());
  return n ? 0 : 2;
}
