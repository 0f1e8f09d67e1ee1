// EIE sparse fully-connected layer (Han et al., ISCA 2016) as a Vitis HLS template.
//
//   y = act(W x + b), W (n_out x n_in) stored per PE in CSC form (flow/eie/encode.py):
//   row i lives on PE i % n_pe at local row i / n_pe; codes index the codebook, rel_index counts the
//   zero rows skipped since the previous entry of the column, fillers (code 0) bridge long runs.
//   colnz[p][j] != 0 iff column j has entries (fillers included) on PE p.
//
// Structure, as in EIE:
//   1. non-zero detector: scans detect_width inputs per cycle and queues (column, value) of the
//      non-zero activations;
//   2. PE array, one pipelined loop at II=1, one iteration = one clock cycle:
//        - the detector broadcasts the next n non-zeros to every PE's activation FIFO (depth
//          fifo_depth), n = min(broadcast, non-zeros left, free slots of the fullest FIFO at the end
//          of the previous cycle); each PE tags each pushed column with its colnz bit;
//        - each PE that has no entries left looks at the first min(broadcast, fifo_depth) queued
//          columns: it pops the leading columns that are empty for it and the first non-empty one,
//          if any in that window, and reads that one's column pointers (start, end); each PE with an
//          entry left decodes it (codebook, zero run -> local row) and multiply-accumulates into its
//          local accumulator: at most one entry (one MAC) per PE per cycle. Up to `broadcast` empty
//          columns cost one cycle together (broadcast = 1: every empty column costs its own cycle).
//   3. gather, one local row of all PEs per cycle: the bias was preloaded into the accumulators;
//      ReLU; requantise to res_T (ap_fixed cast).
// flow/eie/perf.py models exactly this schedule; csim counts the cycles (eie::cycle_counter()).
//
// Memory ports per PE and cycle: colptr is read at one pair of addresses (start/end of the popped
// column: rom_2p, as with broadcast = 1); colnz is read at up to `broadcast` addresses (the pushed
// columns): a 1-bit x n_in ROM bound to rom_np in LUTRAM, which HLS replicates per read port
// (broadcast x ceil(n_in / 64) LUT6 per PE, no BRAM port); nz_col/nz_val are read at `broadcast`
// consecutive addresses (cyclic partition, conflict free); the FIFOs are registers.
//
// Arithmetic is on raw integers (bit-exact with flow/eie/reference.py):
//   acc = (bias_raw << bias_shift) + sum codebook_raw[code] * x_raw;  res = (res_T)(accum_t)acc.
#ifndef EIE_DENSE_H_
#define EIE_DENSE_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "ap_int.h"

#define EIE_PRAGMA_SUB(x) _Pragma(#x)
#define EIE_PRAGMA(x) EIE_PRAGMA_SUB(x)

// ROM implementation of codes, indices and pointers: bram or lutram (set before including).
#ifndef EIE_ROM_IMPL
#define EIE_ROM_IMPL bram
#endif

// Synthesis uses exact-width ap_int arithmetic; csim uses native integers holding the same values.
// Define EIE_HLS_TYPES to run the synthesis arithmetic in csim (tests/test_kernel_csim.py does).
#if defined(__SYNTHESIS__) && !defined(EIE_HLS_TYPES)
#define EIE_HLS_TYPES
#endif

namespace eie {

enum activation_kind { linear = 0, relu = 1 };

// Defaults of a layer config; flow/eie/codegen.py emits `struct configN : eie::dense_config`.
struct dense_config {
  static const unsigned n_in = 1;         // input activations (columns of W)
  static const unsigned n_out = 1;        // outputs (rows of W)
  static const unsigned n_pe = 1;         // processing elements; row i on PE i % n_pe
  static const unsigned n_local = 1;      // accumulators per PE: ceil(n_out / n_pe)
  static const unsigned pe_capacity = 1;  // ROM depth per PE: max entries (incl. fillers), >= 1
  static const unsigned fifo_depth = 8;   // activation FIFO per PE (EIE: 8)
  static const unsigned detect_width = 4; // inputs the non-zero detector scans per cycle
  static const unsigned broadcast = 4;    // non-zeros broadcast per cycle = empty columns a PE skips per cycle
  static const unsigned code_bits = 4;    // codebook of 2^code_bits weights, code 0 == 0
  static const unsigned index_bits = 4;   // relative row index; a filler spans 2^index_bits rows
  static const int activation = linear;   // eie::linear or eie::relu
  static const int bias_shift = 0;        // accum frac - bias frac (>= 0)
  static const unsigned max_cycles = 1;   // trip-count bound: sum over columns of max(1, longest PE slice)

  typedef uint8_t code_t;    // codes ROM element (plain integer)
  typedef uint8_t index_t;   // rel_index ROM element
  typedef uint16_t ptr_t;    // colptr ROM element
  typedef ap_int<8> weight_t;  // raw bits of the codebook (weight fixed type's raw integer)
  typedef ap_int<16> bias_t;   // raw bits of the bias
  typedef ap_fixed<32, 12> accum_t;  // accumulator fixed type (frac = input frac + weight frac), <= 62 bits
};

#ifndef __SYNTHESIS__
// C simulation only: cycles of the last PE-array run (compared with flow/eie/perf.py in the tests).
inline unsigned long long& cycle_counter() {
  static unsigned long long cycles = 0;
  return cycles;
}
#endif

// Raw two's complement integer of an ap_fixed / ap_ufixed value (sign- or zero-extended).
template <class T>
inline long long raw_bits(const T& x) {
#ifdef EIE_HLS_TYPES
  ap_int<T::width> s = x.range(T::width - 1, 0);
  ap_uint<T::width> u = x.range(T::width - 1, 0);
  return x < 0 ? (long long)s.to_int64() : (long long)u.to_int64();
#else
  return (long long)x.V.to_int64();  // csim: ap_private keeps the raw value extended to 64 bits
#endif
}

// Set the raw bits of an ap_fixed value (the value must fit: accum_t never overflows).
template <class T>
inline void set_raw_bits(T& x, long long raw) {
#ifdef EIE_HLS_TYPES
  x.range(T::width - 1, 0) = ap_int<T::width>(raw);
#else
  x.V = raw;
#endif
}

template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::code_t codes[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::index_t rel_index[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::ptr_t colptr[CONFIG_T::n_pe][CONFIG_T::n_in + 1],
           const uint8_t colnz[CONFIG_T::n_pe][CONFIG_T::n_in],
           const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
           const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
#ifdef EIE_HLS_TYPES
  // Exact hardware widths: a weight_t x input product, accumulated in accum_t (never overflows).
  typedef ap_int<CONFIG_T::accum_t::width> acc_t;
  typedef ap_int<data_T::width + 1> x_t;  // raw input (+1 bit: unsigned inputs stay non-negative)
  typedef ap_int<CONFIG_T::weight_t::width + 1> w_t;
#else
  // csim: native integers hold the same values (all fit in 62 bits) and run ~10x faster.
  typedef long long acc_t;
  typedef long long x_t;
  typedef long long w_t;
#endif
  const unsigned max_cycles = CONFIG_T::max_cycles;
  const unsigned W = CONFIG_T::detect_width;
  const unsigned detect_width = CONFIG_T::detect_width;
  const unsigned P = CONFIG_T::n_pe;
  const unsigned D = CONFIG_T::fifo_depth;
  const unsigned B = CONFIG_T::broadcast;
  const unsigned BW = B < D ? B : D;  // pushes per cycle and pop window: a FIFO holds at most D
  const unsigned nz_banks = BW > W ? BW : W;  // nz_col/nz_val: W writes, BW reads, consecutive addresses
  const unsigned n_codes = 1u << CONFIG_T::code_bits;

  // Each PE owns one slice of every ROM; codes/indices/pointers are ROMs (never DRAM).
#pragma HLS ARRAY_PARTITION variable = codes complete dim = 1
#pragma HLS ARRAY_PARTITION variable = rel_index complete dim = 1
#pragma HLS ARRAY_PARTITION variable = colptr complete dim = 1
#pragma HLS ARRAY_PARTITION variable = colnz complete dim = 1
  EIE_PRAGMA(HLS BIND_STORAGE variable = codes type = rom_1p impl = EIE_ROM_IMPL)
  EIE_PRAGMA(HLS BIND_STORAGE variable = rel_index type = rom_1p impl = EIE_ROM_IMPL)
  EIE_PRAGMA(HLS BIND_STORAGE variable = colptr type = rom_2p impl = EIE_ROM_IMPL)
#pragma HLS BIND_STORAGE variable = colnz type = rom_np impl = lutram
#pragma HLS ARRAY_PARTITION variable = codebook complete

  // Per-PE state: accumulators, activation FIFO, current column.
  acc_t acc[CONFIG_T::n_pe][CONFIG_T::n_local];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
  unsigned fifo_col[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
  x_t fifo_val[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
  bool fifo_nz[CONFIG_T::n_pe][CONFIG_T::fifo_depth];  // the column has entries on this PE
#pragma HLS ARRAY_PARTITION variable = fifo_col complete dim = 0
#pragma HLS ARRAY_PARTITION variable = fifo_val complete dim = 0
#pragma HLS ARRAY_PARTITION variable = fifo_nz complete dim = 0
  unsigned fifo_head[CONFIG_T::n_pe], fifo_count[CONFIG_T::n_pe];
  unsigned cur[CONFIG_T::n_pe], end[CONFIG_T::n_pe], next_row[CONFIG_T::n_pe];
  x_t cur_val[CONFIG_T::n_pe];
  acc_t last_sum[CONFIG_T::n_pe];  // accumulator bypass (EIE): the sum written in the previous cycle
  unsigned last_row[CONFIG_T::n_pe];
#pragma HLS ARRAY_PARTITION variable = fifo_head complete
#pragma HLS ARRAY_PARTITION variable = fifo_count complete
#pragma HLS ARRAY_PARTITION variable = cur complete
#pragma HLS ARRAY_PARTITION variable = end complete
#pragma HLS ARRAY_PARTITION variable = next_row complete
#pragma HLS ARRAY_PARTITION variable = cur_val complete
#pragma HLS ARRAY_PARTITION variable = last_sum complete
#pragma HLS ARRAY_PARTITION variable = last_row complete

  w_t weight[1 << CONFIG_T::code_bits];
#pragma HLS ARRAY_PARTITION variable = weight complete
decode_codebook:
  for (unsigned c = 0; c < n_codes; c++) {
#pragma HLS UNROLL
    weight[c] = codebook[c].to_int64();
  }

init_pe:
  for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
    fifo_head[p] = 0;
    fifo_count[p] = 0;
    cur[p] = 0;
    end[p] = 0;
    next_row[p] = 0;
    cur_val[p] = 0;
    last_row[p] = CONFIG_T::n_local;  // no row: the bypass is off
    last_sum[p] = 0;
  }
  // Preload the bias: acc[i % P][i / P] = bias_i << bias_shift (row i of W on PE i % P).
init_acc:
  for (unsigned r = 0; r < CONFIG_T::n_local; r++) {
#pragma HLS PIPELINE II = 1
    for (unsigned p = 0; p < P; p++) {
      const unsigned i = r * P + p;
      const acc_t b = i < CONFIG_T::n_out ? (acc_t)bias[i < CONFIG_T::n_out ? i : 0].to_int64() : (acc_t)0;
      acc[p][r] = b << CONFIG_T::bias_shift;
    }
  }

  // 1. Non-zero detector: queue (column, value) of the non-zero activations in input order.
  unsigned nz_col[CONFIG_T::n_in];
  x_t nz_val[CONFIG_T::n_in];
#pragma HLS ARRAY_PARTITION variable = nz_col cyclic factor = nz_banks
#pragma HLS ARRAY_PARTITION variable = nz_val cyclic factor = nz_banks
  unsigned n_nz = 0;
  // detect_width inputs per cycle (EIE's leading non-zero detector tree also looks at several).
#pragma HLS ARRAY_PARTITION variable = data cyclic factor = detect_width
detect:
  for (unsigned j0 = 0; j0 < CONFIG_T::n_in; j0 += W) {
#pragma HLS PIPELINE II = 1
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      const unsigned j = j0 + u;
      if (j < CONFIG_T::n_in) {
        const x_t x = raw_bits(data[j]);
        if (x != 0) {
          nz_col[n_nz] = j;
          nz_val[n_nz] = x;
          n_nz++;
        }
      }
    }
  }

  // 2. PE array. Invariants at the top of each iteration (= cycle):
  //    - bcast <= n_nz non-zeros have been broadcast; every PE's FIFO holds the ones it has not popped;
  //    - PE p works on entries [cur[p], end[p]) of its current column, next_row[p] is the local row
  //      after its last decoded entry;
  //    - the loop ends when every non-zero is broadcast, every FIFO is empty and every PE is idle.
  unsigned bcast = 0;
  unsigned max_count = 0;  // fullest FIFO at the end of the previous cycle
  unsigned long long cycles = 0;
pe_array:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_cycles
#pragma HLS DEPENDENCE variable = acc inter false
    // The bypass (last_row/last_sum) makes the false inter-iteration dependence on acc safe:
    // two MACs to one accumulator in adjacent cycles use the forwarded sum, not the RAM.
    unsigned n_push = n_nz - bcast;  // broadcast n_push non-zeros to every FIFO
    if (n_push > BW) n_push = BW;
    if (n_push > D - max_count) n_push = D - max_count;
    unsigned push_col[BW];
    x_t push_val[BW];
#pragma HLS ARRAY_PARTITION variable = push_col complete
#pragma HLS ARRAY_PARTITION variable = push_val complete
    for (unsigned u = 0; u < BW; u++) {
#pragma HLS UNROLL
      const unsigned k = bcast + u < n_nz ? bcast + u : 0;
      push_col[u] = nz_col[k];
      push_val[u] = nz_val[k];
    }
    bool busy = n_push != 0;
    max_count = 0;
    for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
      if (cur[p] == end[p] && fifo_count[p] != 0) {
        // idle: pop the leading columns that are empty for this PE and the first non-empty one,
        // within the first BW queued columns; read that one's pointers.
        const unsigned h = fifo_head[p];
        unsigned n_pop = 0;
        bool found = false;
        unsigned col = 0;
        x_t val = 0;
        for (unsigned j = 0; j < BW; j++) {
#pragma HLS UNROLL
          if (!found && j < fifo_count[p]) {
            const unsigned slot = h + j >= D ? h + j - D : h + j;
            n_pop = j + 1;
            if (fifo_nz[p][slot]) {
              found = true;
              col = fifo_col[p][slot];
              val = fifo_val[p][slot];
            }
          }
        }
        fifo_head[p] = h + n_pop >= D ? h + n_pop - D : h + n_pop;
        fifo_count[p] -= n_pop;
        if (found) {
          cur_val[p] = val;
          cur[p] = colptr[p][col];
          end[p] = colptr[p][col + 1];
          next_row[p] = 0;
        }
        busy = true;
      }
      if (cur[p] != end[p]) {  // decode one entry (a filler has code 0, weight 0) and MAC
        const unsigned e = cur[p];
        const unsigned row = next_row[p] + rel_index[p][e];
        const acc_t prev = row == last_row[p] ? last_sum[p] : acc[p][row];
        const acc_t sum = prev + (acc_t)(weight[codes[p][e]] * cur_val[p]);
        acc[p][row] = sum;
        last_row[p] = row;
        last_sum[p] = sum;
        next_row[p] = row + 1;
        cur[p] = e + 1;
        busy = true;
      } else {
        last_row[p] = CONFIG_T::n_local;
      }
      // push: the pushed values are visible to the PE from the next cycle on
      for (unsigned u = 0; u < BW; u++) {
#pragma HLS UNROLL
        if (u < n_push) {
          // count + n_push <= D (n_push <= D - max_count), so t < 2 D
          const unsigned t0 = fifo_head[p] + fifo_count[p] + u;
          const unsigned t = t0 >= D ? t0 - D : t0;
          fifo_col[p][t] = push_col[u];
          fifo_val[p][t] = push_val[u];
          fifo_nz[p][t] = colnz[p][push_col[u]] != 0;
        }
      }
      fifo_count[p] += n_push;
      if (fifo_count[p] > max_count) max_count = fifo_count[p];
    }
    bcast += n_push;
    // No pop, MAC or broadcast happened: all FIFOs are empty, all PEs idle, all non-zeros sent.
    if (!busy) break;
    cycles++;
  }
#ifndef __SYNTHESIS__
  cycle_counter() = cycles;
#endif

  // 3. Gather: ReLU and requantise accumulator raw values to res_T (ap_fixed rounding/saturation).
  // One local row of every PE per cycle (res is written n_pe values per cycle: partition it, as
  // hls4ml's io_parallel does for layer outputs).
gather:
  for (unsigned r = 0; r < CONFIG_T::n_local; r++) {
#pragma HLS PIPELINE II = 1
    for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
      const unsigned i = r * P + p;  // row i of W is local row r of PE p
      if (i < CONFIG_T::n_out) {
        acc_t a = acc[p][r];
        if (CONFIG_T::activation == relu && a < 0) a = 0;
        typename CONFIG_T::accum_t fixed;
        set_raw_bits(fixed, (long long)a);
        res[i] = fixed;  // ap_fixed cast: res_T's rounding and saturation
      }
    }
  }
}

}  // namespace eie

#endif  // EIE_DENSE_H_
