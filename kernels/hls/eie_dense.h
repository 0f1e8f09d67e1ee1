// EIE sparse fully-connected layer (Han et al., ISCA 2016) as a Vitis HLS template.
//
//   y = act(W x + b), W (n_out x n_in) stored per PE in CSC form (flow/eie/encode.py).
// Column groups: the P = n_pe PEs form G = col_groups groups of R = P / G PEs. Group g owns the input
// columns j with j % G == g, as its local columns c = j / G (n_cols = ceil(n_in / G) per PE; a group
// with fewer columns has an empty padding column); within group g, row i of W lives on PE g * R + i % R
// at local row i / R (n_local = ceil(n_out / R) accumulators per PE), so each PE holds a partial sum of
// its rows over its group's columns. G = 1 is EIE's layout: row i on PE i % P, local column = column.
// Per local column, codes index the codebook, rel_index counts the zero rows skipped since the previous
// entry of the column, fillers (code 0) bridge long runs. colnz[p][c] != 0 iff local column c has
// entries (fillers included) on PE p; colany[j] != 0 iff column j has entries on some PE.
//
// Structure, as in EIE, with one detector and one PE array per column group:
//   1. non-zero detector: scans detect_width inputs per cycle and appends (local column, value) of each
//      non-zero activation j with colany[j] to group j % G's queue (columns empty on every PE are never
//      broadcast);
//   2. PE array, one pipelined loop at II=1, one iteration = one clock cycle; the groups run side by
//      side, each on its own queue, broadcast counter and fullest FIFO; the loop ends when no group did
//      anything in a cycle (cycles = those of the slowest group). In each group:
//        - the detector broadcasts the next n non-zeros to each of its PEs' activation FIFOs (depth
//          fifo_depth), n = min(broadcast, non-zeros left, free slots of the group's fullest FIFO at the
//          end of the previous cycle); each PE tags each pushed column with its colnz bit;
//        - each PE that has no entries left looks at the first min(broadcast, fifo_depth) queued
//          columns: it pops the leading columns that are empty for it and the first non-empty one,
//          if any in that window, and reads that one's column pointers (start, end); each PE with an
//          entry left decodes it (codebook, zero run -> local row) and multiply-accumulates into its
//          local accumulator: at most one entry (one MAC) per PE per cycle. Up to `broadcast` empty
//          columns cost one cycle together (broadcast = 1: every empty column costs its own cycle).
//   3. gather, one local row of every group per cycle: the bias was preloaded into group 0's
//      accumulators; output i = sum over the groups of their partial sums (a G-input adder per output);
//      ReLU; requantise to res_T (ap_fixed cast).
// flow/eie/perf.py models exactly this schedule; csim counts the cycles (eie::cycle_counter()), and
// the iterations of the loops around it (eie::overhead_counter(): bias preload + scan + gather).
//
// Memory ports per PE and cycle: colptr is read at one pair of addresses (start/end of the popped
// local column: rom_2p, as with broadcast = 1); colnz is read at up to `broadcast` addresses (the pushed
// columns): a 1-bit x n_cols ROM bound to rom_np in LUTRAM, which HLS replicates per read port
// (broadcast x ceil(n_cols / 64) LUT6 per PE, no BRAM port); acc is read and written at one row per
// cycle (the bypass covers adjacent updates), and read at one row in the gather. Per group, nz_col /
// nz_val are written at up to detect_width and read at up to `broadcast` consecutive addresses (cyclic
// partition, conflict free; complete over the groups). colany (1 bit x n_in) is read at detect_width
// consecutive addresses per cycle, like data (cyclic partition). The FIFOs are registers.
//
// detect_width W (1..64, a per-layer knob: EIELayer.detect_width) sets the detector's scan,
// ceil(n_in / W) cycles before the PE array starts (flow/eie/perf.py overhead_cycles); it does not
// change the PE-array schedule. The partitions hold for any W up to 64: data and colany are read at
// W consecutive addresses (cyclic factor W), nz_col / nz_val are written at up to W and read at up
// to BW consecutive addresses (cyclic factor nz_banks = max(BW, W)); each factor is clamped to its
// array's size (a factor >= the size is a complete partition). What grows with W is logic: the
// compaction that routes the non-zeros among W lanes to consecutive queue slots (a W-lane count
// chain and W x nz_banks write muxes per group; flow/resources.py adds a LUT term for it). The
// loop-carried part of the scan is one add per group (n_nz[g] += the iteration's count), whatever
// W. Pick W a multiple of col_groups (or 1): then lane u always feeds group u % G, otherwise each
// lane needs a G-way mux as well.
//
// Arithmetic is on raw integers (bit-exact with flow/eie/reference.py):
//   acc = (bias_raw << bias_shift) + sum codebook_raw[code] * x_raw;  res = (res_T)(accum_t)acc.
// accum_t holds the sum of the absolute values of a row's products and bias, so neither a group's
// partial sum nor the gather's sum of partial sums can overflow (the order of the additions is free).
#ifndef EIE_DENSE_H_
#define EIE_DENSE_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "ap_int.h"
#include "eie_support.h"
#include "hls_stream.h"

#define EIE_PRAGMA_SUB(x) _Pragma(#x)
#define EIE_PRAGMA(x) EIE_PRAGMA_SUB(x)

// ROM implementation of codes, indices and pointers: bram or lutram (set before including).
#ifndef EIE_ROM_IMPL
#define EIE_ROM_IMPL bram
#endif

namespace eie {

enum activation_kind { linear = 0, relu = 1 };

// Defaults of a layer config; flow/eie/codegen.py emits `struct configN : eie::dense_config`.
struct dense_config {
  static const unsigned n_in = 1;         // input activations (columns of W)
  static const unsigned n_out = 1;        // outputs (rows of W)
  static const unsigned n_pe = 1;         // processing elements: col_groups groups of n_pe / col_groups
  static const unsigned col_groups = 1;   // G: group g owns the columns j with j % G == g (divides n_pe)
  static const unsigned n_cols = 1;       // local columns per PE: ceil(n_in / col_groups)
  static const unsigned n_local = 1;      // accumulators per PE: ceil(n_out / (n_pe / col_groups))
  static const unsigned pe_capacity = 1;  // ROM depth per PE: max entries (incl. fillers), >= 1
  static const unsigned fifo_depth = 8;   // activation FIFO per PE (EIE: 8)
  static const unsigned detect_width = 4; // inputs the non-zero detector scans per cycle (1..64)
  static const unsigned broadcast = 4;    // non-zeros broadcast per cycle = empty columns a PE skips per cycle
  static const unsigned code_bits = 4;    // codebook of 2^code_bits weights, code 0 == 0
  static const unsigned index_bits = 4;   // relative row index; a filler spans 2^index_bits rows
  static const int activation = linear;   // eie::linear or eie::relu
  static const int bias_shift = 0;        // accum frac - bias frac (>= 0)
  static const unsigned max_cycles = 1;   // PE-array trip-count bound (flow/eie/codegen.py max_cycles)

  typedef uint8_t code_t;    // codes ROM element (plain integer)
  typedef uint8_t index_t;   // rel_index ROM element
  typedef uint16_t ptr_t;    // colptr ROM element
  typedef ap_int<8> weight_t;  // raw bits of the codebook (weight fixed type's raw integer)
  typedef ap_int<16> bias_t;   // raw bits of the bias
  typedef ap_fixed<32, 12> accum_t;  // accumulator fixed type (frac = input frac + weight frac), <= 62 bits
  // hls4ml parity (flow/eie/layer.py hls_accum, pre_t): hls_accum casts every product (exact in prod_t,
  // frac = input frac + weight frac) into accum_t, hls4ml's AP_WRAP accumulator, as Vivado's dense does;
  // pre_cast requantises to pre_t (the Dense output type) before the ReLU and res_T after it.
  static const bool hls_accum = false;
  static const bool hls_accum_sat = false;  // accum_t saturates: after every addition (sum_t: exact sums)
  static const bool pre_cast = false;
  typedef ap_fixed<62, 32> prod_t;
  typedef ap_fixed<62, 32> sum_t;
  typedef ap_fixed<32, 12> pre_t;
};

// Raw bits of an exact value in type S (a product in prod_t, a sum in sum_t) cast into accum_t, as
// an ap_fixed assignment does (hls_accum only).
template <class S, typename CONFIG_T>
inline long long requant(long long raw) {
  S v;
  set_raw_bits(v, raw);
  typename CONFIG_T::accum_t a = v;
  return raw_bits(a);
}

template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::code_t codes[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::index_t rel_index[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::ptr_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols + 1],
           const uint8_t colnz[CONFIG_T::n_pe][CONFIG_T::n_cols],
           const uint8_t colany[CONFIG_T::n_in],
           const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
           const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
  static_assert(CONFIG_T::col_groups >= 1 && CONFIG_T::n_pe % CONFIG_T::col_groups == 0,
                "col_groups must divide n_pe");
  static_assert(CONFIG_T::n_cols * CONFIG_T::col_groups >= CONFIG_T::n_in &&
                    (CONFIG_T::n_cols - 1) * CONFIG_T::col_groups < CONFIG_T::n_in,
                "n_cols must be ceil(n_in / col_groups)");
  static_assert(CONFIG_T::n_local * (CONFIG_T::n_pe / CONFIG_T::col_groups) >= CONFIG_T::n_out,
                "n_local must be at least ceil(n_out / (n_pe / col_groups))");
  static_assert(CONFIG_T::detect_width >= 1 && CONFIG_T::detect_width <= 64, "detect_width must be 1..64");
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
  const unsigned P = CONFIG_T::n_pe;
  const unsigned G = CONFIG_T::col_groups;
  const unsigned R = CONFIG_T::n_pe / CONFIG_T::col_groups;  // PEs per group
  const unsigned D = CONFIG_T::fifo_depth;
  const unsigned B = CONFIG_T::broadcast;
  const unsigned BW = B < D ? B : D;  // pushes per cycle and pop window: a FIFO holds at most D
  const unsigned nz_wide = BW > W ? BW : W;  // nz_col/nz_val: W writes, BW reads, consecutive addresses
  const unsigned nz_banks = nz_wide < CONFIG_T::n_cols ? nz_wide : CONFIG_T::n_cols;  // <= array size
  const unsigned in_banks = W < CONFIG_T::n_in ? W : CONFIG_T::n_in;  // data/colany: W reads per cycle
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
  unsigned fifo_col[CONFIG_T::n_pe][CONFIG_T::fifo_depth];  // local column
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
  // Preload the bias into group 0: acc[i % R][i / R] = bias_i << bias_shift (row i of W on PE
  // g * R + i % R of every group g); the other groups' partial sums start at 0.
#ifndef __SYNTHESIS__
  overhead_counter() = 0;
#endif
init_acc:
  for (unsigned r = 0; r < CONFIG_T::n_local; r++) {
#pragma HLS PIPELINE II = 1
    EIE_COUNT_OVERHEAD();
    for (unsigned p = 0; p < P; p++) {
      const unsigned i = r * R + p;
      const bool has_bias = p < R && i < CONFIG_T::n_out;
      const acc_t b = has_bias ? (acc_t)bias[has_bias ? i : 0].to_int64() : (acc_t)0;
      acc[p][r] = b << CONFIG_T::bias_shift;
    }
  }

  // 1. Non-zero detector: queue (local column, value) of each non-zero activation whose column has
  //    an entry somewhere, in input order, on its group's queue.
  unsigned nz_col[CONFIG_T::col_groups][CONFIG_T::n_cols];
  x_t nz_val[CONFIG_T::col_groups][CONFIG_T::n_cols];
  unsigned n_nz[CONFIG_T::col_groups];
#pragma HLS ARRAY_PARTITION variable = nz_col complete dim = 1
#pragma HLS ARRAY_PARTITION variable = nz_val complete dim = 1
#pragma HLS ARRAY_PARTITION variable = nz_col cyclic factor = nz_banks dim = 2
#pragma HLS ARRAY_PARTITION variable = nz_val cyclic factor = nz_banks dim = 2
#pragma HLS ARRAY_PARTITION variable = n_nz complete
init_detect:
  for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
    n_nz[g] = 0;
  }
  // detect_width inputs per cycle (EIE's leading non-zero detector tree also looks at several).
#pragma HLS ARRAY_PARTITION variable = data cyclic factor = in_banks
#pragma HLS ARRAY_PARTITION variable = colany cyclic factor = in_banks
#pragma HLS BIND_STORAGE variable = colany type = rom_1p impl = lutram
detect:
  for (unsigned j0 = 0; j0 < CONFIG_T::n_in; j0 += W) {
#pragma HLS PIPELINE II = 1
    EIE_COUNT_OVERHEAD();
    unsigned cnt[CONFIG_T::col_groups];  // this cycle's non-zeros per group so far (lane offsets)
#pragma HLS ARRAY_PARTITION variable = cnt complete
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      cnt[g] = 0;
    }
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      const unsigned j = j0 + u;
      if (j < CONFIG_T::n_in) {
        const x_t x = raw_bits(data[j]);
        if (x != 0 && colany[j] != 0) {
          const unsigned g = j % G;  // constant divisor: a multiply and shift (none for G = 1)
          nz_col[g][n_nz[g] + cnt[g]] = j / G;
          nz_val[g][n_nz[g] + cnt[g]] = x;
          cnt[g]++;
        }
      }
    }
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      n_nz[g] += cnt[g];
    }
  }

  // 2. PE array. Invariants at the top of each iteration (= cycle), per group g:
  //    - bcast[g] <= n_nz[g] non-zeros have been broadcast; every FIFO of the group holds the ones its
  //      PE has not popped; max_count[g] is the group's fullest FIFO at the end of the previous cycle;
  //    - PE p works on entries [cur[p], end[p]) of its current column, next_row[p] is the local row
  //      after its last decoded entry;
  //    - the loop ends when every group has broadcast every non-zero, every FIFO is empty and every
  //      PE is idle (a group that is done stays done: it only waits for the others).
  unsigned bcast[CONFIG_T::col_groups];
  unsigned max_count[CONFIG_T::col_groups];
#pragma HLS ARRAY_PARTITION variable = bcast complete
#pragma HLS ARRAY_PARTITION variable = max_count complete
init_groups:
  for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
    bcast[g] = 0;
    max_count[g] = 0;
  }
  unsigned long long cycles = 0;
pe_array:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_cycles
#pragma HLS DEPENDENCE variable = acc inter false
    // The bypass (last_row/last_sum) makes the false inter-iteration dependence on acc safe:
    // two MACs to one accumulator in adjacent cycles use the forwarded sum, not the RAM.
    bool busy = false;
    unsigned n_push[CONFIG_T::col_groups];  // broadcast n_push[g] non-zeros to every FIFO of group g
    unsigned push_col[CONFIG_T::col_groups][BW];
    x_t push_val[CONFIG_T::col_groups][BW];
#pragma HLS ARRAY_PARTITION variable = n_push complete
#pragma HLS ARRAY_PARTITION variable = push_col complete dim = 0
#pragma HLS ARRAY_PARTITION variable = push_val complete dim = 0
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      unsigned n = n_nz[g] - bcast[g];
      if (n > BW) n = BW;
      if (n > D - max_count[g]) n = D - max_count[g];
      n_push[g] = n;
      for (unsigned u = 0; u < BW; u++) {
#pragma HLS UNROLL
        const unsigned k = bcast[g] + u < n_nz[g] ? bcast[g] + u : 0;
        push_col[g][u] = nz_col[g][k];
        push_val[g][u] = nz_val[g][k];
      }
      if (n != 0) busy = true;
      max_count[g] = 0;
    }
    for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
      const unsigned g = p / R;  // the PE's group (a constant after unrolling)
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
        const acc_t product =
            CONFIG_T::hls_accum
                ? (acc_t)requant<typename CONFIG_T::prod_t, CONFIG_T>((long long)(weight[codes[p][e]] * cur_val[p]))
                : (acc_t)(weight[codes[p][e]] * cur_val[p]);
        const acc_t sum = CONFIG_T::hls_accum_sat
                              ? (acc_t)requant<typename CONFIG_T::sum_t, CONFIG_T>((long long)prev + (long long)product)
                              : (acc_t)(prev + product);
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
        if (u < n_push[g]) {
          // count + n_push <= D (n_push <= D - max_count), so t < 2 D
          const unsigned t0 = fifo_head[p] + fifo_count[p] + u;
          const unsigned t = t0 >= D ? t0 - D : t0;
          fifo_col[p][t] = push_col[g][u];
          fifo_val[p][t] = push_val[g][u];
          fifo_nz[p][t] = colnz[p][push_col[g][u]] != 0;
        }
      }
      fifo_count[p] += n_push[g];
      if (fifo_count[p] > max_count[g]) max_count[g] = fifo_count[p];
    }
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      bcast[g] += n_push[g];
    }
    // No pop, MAC or broadcast happened: all FIFOs are empty, all PEs idle, all non-zeros sent.
    if (!busy) break;
    cycles++;
  }
#ifndef __SYNTHESIS__
  cycle_counter() = cycles;
#endif

  // 3. Gather: add the groups' partial sums, ReLU and requantise the accumulator raw values to res_T
  // (ap_fixed rounding/saturation). One local row of every PE per cycle (res is written R values per
  // cycle: partition it, as hls4ml's io_parallel does for layer outputs).
gather:
  for (unsigned r = 0; r < CONFIG_T::n_local; r++) {
#pragma HLS PIPELINE II = 1
    EIE_COUNT_OVERHEAD();
    for (unsigned q = 0; q < R; q++) {
#pragma HLS UNROLL
      const unsigned i = r * R + q;  // row i of W is local row r of PE g * R + q in every group g
      if (i < CONFIG_T::n_out) {
        acc_t a = 0;
        for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
          a += acc[g * R + q][r];
        }
        typename CONFIG_T::accum_t fixed;
        set_raw_bits(fixed, (long long)a);  // exact, or (hls_accum) wraps as hls4ml's accumulator does
        if (CONFIG_T::pre_cast) {
          typename CONFIG_T::pre_t pre = fixed;  // hls4ml's Dense output, then its ReLU layer
          if (CONFIG_T::activation == relu && pre < 0) pre = 0;
          res[i] = pre;
        } else {
          if (CONFIG_T::activation == relu && fixed < 0) fixed = 0;
          res[i] = fixed;  // ap_fixed cast: res_T's rounding and saturation
        }
      }
    }
  }
}

// hls4ml io_stream: the layer input arrives as n_in / data_T::size packs (nnet::array<T, size>, hls4ml's
// stream convention) and leaves as n_out / res_T::size packs. The packs are gathered into the input
// array (the detector scans it as in io_parallel) and the outputs written pack by pack.
template <class data_T, class res_T, typename CONFIG_T>
void dense_stream(hls::stream<data_T>& data_stream, hls::stream<res_T>& res_stream,
                  const typename CONFIG_T::code_t codes[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                  const typename CONFIG_T::index_t rel_index[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                  const typename CONFIG_T::ptr_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols + 1],
                  const uint8_t colnz[CONFIG_T::n_pe][CONFIG_T::n_cols], const uint8_t colany[CONFIG_T::n_in],
                  const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
                  const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
  static_assert(CONFIG_T::n_in % data_T::size == 0, "n_in must be a multiple of the input pack size");
  static_assert(CONFIG_T::n_out % res_T::size == 0, "n_out must be a multiple of the output pack size");
  typename data_T::value_type data[CONFIG_T::n_in];
  typename res_T::value_type res[CONFIG_T::n_out];
read_packs:
  for (unsigned k = 0; k < CONFIG_T::n_in / data_T::size; k++) {
#pragma HLS PIPELINE II = 1
    const data_T pack = data_stream.read();
    for (unsigned j = 0; j < data_T::size; j++) {
#pragma HLS UNROLL
      data[k * data_T::size + j] = pack[j];
    }
  }
  dense<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(data, res, codes, rel_index, colptr,
                                                                           colnz, colany, codebook, bias);
write_packs:
  for (unsigned k = 0; k < CONFIG_T::n_out / res_T::size; k++) {
#pragma HLS PIPELINE II = 1
    res_T pack;
    for (unsigned j = 0; j < res_T::size; j++) {
#pragma HLS UNROLL
      pack[j] = res[k * res_T::size + j];
    }
    res_stream.write(pack);
  }
}

}  // namespace eie

#endif  // EIE_DENSE_H_
