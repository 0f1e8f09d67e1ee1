// EIE sparse fully-connected layer (Han et al., ISCA 2016) as a Vitis HLS template, on the same
// pipeline as the RTL engine (kernels/rtl/eie_pe.sv): one schedule, modelled by flow/eie/perf.py.
//
//   y = act(W x + b), W (n_out x n_in) stored per PE in CSC form (flow/eie/encode.py).
// Column groups: the P = n_pe PEs form G = col_groups groups of R = P / G PEs. Group g owns the input
// columns j with j % G == g, as its local columns c = j / G (n_cols = ceil(n_in / G) per PE); within
// group g, row i of W lives on PE g * R + i % R at local row i / R (n_local = ceil(n_out / R)
// accumulators per PE). G = 1 is EIE's layout.
//
// ROMs (flow/eie/codegen.py): entries[p][e] = code << index_bits | rel_index (one word per entry,
// 8 bits for EIE's 4 + 4), colptr[p][c] = end << ptr_bits | start (a column's pointer pair in one
// word: one read), codebook (registers), bias (cyclic partition by R: the gather reads R at once).
//
// DATAFLOW region of two processes joined by one hls::stream per group:
//   detect  leading-non-zero detector: windows of detect_width inputs; each cycle it sends, per group,
//           the first not yet sent non-zero column of the window (local column, value), moving to the
//           next window in the cycle of the window's last one (a window without one costs a cycle);
//           an end token closes each group's stream.
//   engine  the PE array loop (one iteration = one clock, II=1 intended) and the gather.
// PE array, per group: a broadcast register (bc) takes the next token when the gate is open: every
// queue of the group has count + (bc valid) < D (an AND over the R PEs of a compare on start-of-cycle
// registers); bc is pushed into the R queues the next cycle. Per PE, as in the RTL:
//   A  pop the queue head when the pointer register is free or taken this cycle; read the column's
//      pointer pair into ptr_q (the prefetch: the read result only lands in a register)
//   B  take the pair (b_cur, b_end) in the cycle B issues its last entry (columns back to back; an
//      empty column costs one cycle); read entry word b_cur into ent_q
//   C  row = first ? index : last_row + 1 + index; codebook lookup (registers) into cb_q
//   D  product cb_q * x; accumulator read of the row into acc_q (before E's write: read-first)
//   E  sum = bypass or acc_q, + product; written back. The bypass holds the sums written in the last
//      two cycles (f, f2): a read that misses a write up to two iterations old is corrected, so the
//      real memory dependence has distance >= 2 (the DEPENDENCE pragma states exactly that).
// The loop exits when, at the start of an iteration, every stream is closed, no broadcast is in flight
// and every PE is idle (queue empty, no pair, no entry in B..E): decided from registers only.
// Gather (one local row of every PE per cycle): out_i = sum over groups of the partial sums + bias_i
// << bias_shift, ReLU, requantise to res_T (ap_fixed cast); the accumulators are cleared as read
// (the next call starts from zero, as in the RTL).
//
// csim counts the PE-array iterations (eie::cycle_counter()) and the detector + gather iterations
// (eie::overhead_counter()); flow/eie/perf.py models both exactly. With native integers csim does not step the
// PE-array loop register by register: fast_pe_array computes the same schedule per broadcast column
// (identical sums and cycle count; -DEIE_CSIM_CYCLE_LEVEL or EIE_HLS_TYPES run the loop itself, and
// tests/eie/test_kernel_csim.py checks the two against each other and the model). In csim the detector runs to the
// end before the engine (sequential dataflow), so the engine's cycle count is the one with a detector
// that never lets the stream run dry; the RTL's detector is gated directly (flow/eie/perf.py states
// the difference). Differences to the old kernel: one broadcast per cycle per group (EIE), every
// non-zero input is broadcast (as in the RTL), no B-wide pop of empty columns.
//
// hls4ml parity (issue 13): hls_accum requantises every product into accum_t (requant<prod_t>) in stage
// D, hls_accum_sat saturates every sum (requant<sum_t>) in stage E (the bypass forwards the saturated
// sum) with the bias preloaded before the PE array (Vivado's order: bias, then columns ascending; one
// group only), pre_cast casts to pre_t before the ReLU in the gather; dense_stream wraps dense for
// hls4ml's io_stream.
// Arithmetic is on raw integers (bit-exact with flow/eie/reference.py):
//   acc = (bias_raw << bias_shift) + sum codebook_raw[code] * x_raw;  res = (res_T)(accum_t)acc.
// accum_t holds the sum of the absolute values of a row's products and bias, so no partial sum
// overflows (the order of the additions is free).
#ifndef EIE_DENSE_H_
#define EIE_DENSE_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "ap_int.h"
#include "eie_support.h"
#include "hls_stream.h"

#define EIE_PRAGMA_SUB(x) _Pragma(#x)
#define EIE_PRAGMA(x) EIE_PRAGMA_SUB(x)

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
  static const unsigned pe_capacity = 1;  // entry ROM depth per PE: max entries (incl. fillers), >= 1
  static const unsigned fifo_depth = 8;   // activation queue per PE (EIE: 8)
  static const unsigned detect_width = 4; // inputs per detector window (1..64)
  static const unsigned broadcast = 1;    // kept for configs: the engine broadcasts 1 column per cycle
  static const unsigned code_bits = 4;    // codebook of 2^code_bits weights, code 0 == 0
  static const unsigned index_bits = 4;   // relative row index; a filler spans 2^index_bits rows
  static const int activation = linear;   // eie::linear or eie::relu
  static const int bias_shift = 0;        // accum frac - bias frac (>= 0)
  static const unsigned max_cycles = 1;   // PE-array trip-count bound (flow/eie/codegen.py max_cycles)
  // state widths (flow/eie/codegen.py sizes them from the layer)
  static const unsigned ptr_bits = 1;     // a pointer 0..pe_capacity
  static const unsigned col_bits = 1;     // a local column 0..n_cols-1
  static const unsigned row_bits = 1;     // a local row 0..n_local-1
  static const unsigned slot_bits = 1;    // a queue slot 0..fifo_depth-1
  static const unsigned count_bits = 4;   // a queue count 0..fifo_depth
  static const unsigned entry_rom_lutram = 1;  // codegen's choice of ROM storage (documentation;
  static const unsigned ptr_rom_lutram = 1;    // the BIND_STORAGE pragmas sit at the call site)

  typedef uint8_t entry_t;   // entry word: code << index_bits | rel_index
  typedef uint16_t pair_t;   // pointer pair word: end << ptr_bits | start
  typedef ap_int<8> weight_t;  // raw bits of the codebook (weight fixed type's raw integer)
  typedef ap_int<16> bias_t;   // raw bits of the bias
  typedef ap_fixed<32, 12> accum_t;  // accumulator fixed type (frac = input frac + weight frac), <= 62 bits
  // hls4ml parity (flow/eie/layer.py hls_accum, pre_t): hls_accum casts every product (exact in prod_t,
  // frac = input frac + weight frac) into accum_t, hls4ml's AP_WRAP accumulator, as Vivado's dense does;
  // pre_cast requantises to pre_t (the Dense output type) before the ReLU and res_T after it.
  static const bool hls_accum = false;
  static const bool hls_accum_sat = false;  // accum_t saturates: after every addition (sum_t: exact sums);
                                            // the bias is preloaded (Vivado's order: bias, then columns)
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

// The MAC arithmetic shared by the PE-array loop and the csim fast path: the product (requantised
// into accum_t under hls_accum) and the sum (saturated into accum_t under hls_accum_sat).
template <typename CONFIG_T, class acc_t>
inline acc_t mac_product(long long prod) {
  return CONFIG_T::hls_accum ? (acc_t)requant<typename CONFIG_T::prod_t, CONFIG_T>(prod) : (acc_t)prod;
}
template <typename CONFIG_T, class acc_t>
inline acc_t mac_sum(const acc_t& prev, const acc_t& product) {
  return CONFIG_T::hls_accum_sat
             ? (acc_t)requant<typename CONFIG_T::sum_t, CONFIG_T>((long long)prev + (long long)product)
             : (acc_t)(prev + product);
}

// Narrow state types: exact widths in synthesis (and with EIE_HLS_TYPES), native integers in csim.
template <typename CONFIG_T> struct state_types {
#ifdef EIE_HLS_TYPES
  typedef ap_uint<CONFIG_T::ptr_bits> ptr_u;
  typedef ap_uint<CONFIG_T::col_bits> col_u;
  typedef ap_uint<CONFIG_T::row_bits + 1> row_u;  // + 1: last_row + 1 + index before the check
  typedef ap_uint<CONFIG_T::slot_bits> slot_u;
  typedef ap_uint<CONFIG_T::count_bits> count_u;
  typedef ap_uint<CONFIG_T::code_bits + CONFIG_T::index_bits> entry_u;
  typedef ap_uint<2 * CONFIG_T::ptr_bits> pair_u;
#else
  typedef unsigned ptr_u;
  typedef unsigned col_u;
  typedef unsigned row_u;
  typedef unsigned slot_u;
  typedef unsigned count_u;
  typedef unsigned entry_u;
  typedef unsigned long long pair_u;
#endif
};

// Arithmetic types: exact hardware widths in synthesis, native 64-bit integers in csim (same values).
template <class data_T, typename CONFIG_T> struct arith_types {
#ifdef EIE_HLS_TYPES
  typedef ap_int<CONFIG_T::accum_t::width> acc_t;
  typedef ap_int<data_T::width + 1> x_t;  // raw input (+1 bit: unsigned inputs stay non-negative)
  typedef ap_int<CONFIG_T::weight_t::width + 1> w_t;
#else
  typedef long long acc_t;
  typedef long long x_t;
  typedef long long w_t;
#endif
};

// One non-zero activation on its way from the detector to a group's broadcast register.
template <class x_t, class col_u> struct nz_token {
  col_u col;  // local column
  x_t val;    // raw activation
  bool last;  // end of the stream (no column)
};

// The detector -> engine channel: hls::stream in synthesis (and with EIE_HLS_TYPES), a plain
// ring buffer in csim (the detector runs to the end before the engine: it never blocks).
#ifdef EIE_HLS_TYPES
}  // namespace eie
#include "hls_stream.h"
namespace eie {
template <class T, unsigned N> struct channel {
  typedef hls::stream<T> type;
};
#else
template <class T, unsigned N> struct csim_fifo {
  typedef T value_type;
  T data[N];
  unsigned rd = 0, wr = 0;
  void write(const T& t) { data[wr++] = t; }
  bool read_nb(T& t) {
    if (rd == wr) return false;
    t = data[rd++];
    return true;
  }
};
template <class T, unsigned N> struct channel {
  typedef csim_fifo<T, N> type;
};
#endif

// Process 1: the leading-non-zero detector (see the top of the file).
template <class data_T, typename CONFIG_T, class tok_T, class chan_T>
void detect(const data_T data[CONFIG_T::n_in], chan_T nzq[CONFIG_T::col_groups]) {
  typedef typename arith_types<data_T, CONFIG_T>::x_t x_t;
  const unsigned W = CONFIG_T::detect_width;
  const unsigned G = CONFIG_T::col_groups;
  const unsigned n_win = (CONFIG_T::n_in + W - 1) / W;
  const unsigned max_iter = CONFIG_T::n_in + n_win;
  const unsigned in_banks = W < CONFIG_T::n_in ? W : CONFIG_T::n_in;
#pragma HLS ARRAY_PARTITION variable = data cyclic factor = in_banks
#ifdef EIE_HLS_TYPES
  typedef ap_uint<CONFIG_T::detect_width> lanes_u;
#else
  typedef unsigned long long lanes_u;
#endif
  lanes_u taken = 0;  // lanes of the current window already sent
  unsigned w = 0;
detect_loop:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_iter
    if (w == n_win) break;
    EIE_COUNT_OVERHEAD();
    x_t x[W];
    bool nz[W];
#pragma HLS ARRAY_PARTITION variable = x complete
#pragma HLS ARRAY_PARTITION variable = nz complete
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      const unsigned j = w * W + u;
      x[u] = j < CONFIG_T::n_in ? (x_t)raw_bits(data[j < CONFIG_T::n_in ? j : 0]) : (x_t)0;
      nz[u] = x[u] != 0 && ((taken >> u) & 1) == 0;
    }
    bool more = false;  // a group has another non-zero in this window after this cycle's
    lanes_u sent = 0;
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      bool found = false;  // priority encoder over the group's lanes: the first one is sent
      unsigned lane = 0;
      for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
        if (nz[u] && (w * W + u) % G == g) {
          if (found) more = true;
          if (!found) lane = u;
          found = true;
        }
      }
      if (found) {  // one write per stream and cycle
        tok_T t;
        t.col = (w * W + lane) / G;
        t.val = x[lane];
        t.last = false;
        nzq[g].write(t);
        sent |= (lanes_u)1 << lane;
      }
    }
    if (more) {
      taken |= sent;
    } else {
      w++;
      taken = 0;
    }
  }
close:
  for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
    tok_T t;
    t.col = 0;
    t.val = 0;
    t.last = true;
    nzq[g].write(t);
  }
}

#if !defined(EIE_HLS_TYPES) && !defined(EIE_CSIM_CYCLE_LEVEL)
#define EIE_CSIM_FAST 1
// csim fast path (native integers only; EIE_HLS_TYPES and EIE_CSIM_CYCLE_LEVEL run the PE-array
// loop below register by register). The same schedule, computed per broadcast column instead of
// per clock: the recurrence of flow/eie/perf.py (the PE-array loop follows it exactly, which the
// tests check on the cycle-level path), with all times in loop iterations from 0 for token k of a
// group (n = the column's entries on the PE):
//   e_k = max(e_{k-1} + 1, max_p pop_{p,k-D} + 1), pop_k = max(e_k + 2, l_{k-1}),
//   l_k = max(pop_k + 1, l_{k-1} + max(n_{k-1}, 1)); entries issue at l_k + 1 .. l_k + n_k;
//   cycles = max over PEs of max(l_{K-1} + 1, l_k + n_k + 4 for columns with entries) (1 if K = 0).
// The accumulators receive the same products (integer sums: the order of the additions is free),
// so results and eie::cycle_counter() are identical to the cycle-level loop's.
template <typename CONFIG_T, class acc_t, class w_t, class chan_T>
unsigned long long fast_pe_array(chan_T nzq[CONFIG_T::col_groups],
                                 acc_t acc[CONFIG_T::n_pe][CONFIG_T::n_local],
                                 const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                                 const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
                                 const w_t weight[1 << CONFIG_T::code_bits]) {
  const unsigned G = CONFIG_T::col_groups;
  const unsigned R = CONFIG_T::n_pe / CONFIG_T::col_groups;
  const unsigned D = CONFIG_T::fifo_depth;
  const unsigned index_mask = (1u << CONFIG_T::index_bits) - 1;
  const unsigned long long ptr_mask = (1ull << CONFIG_T::ptr_bits) - 1;
  long long cycles = 0;
  for (unsigned g = 0; g < G; g++) {
    long long l_prev[R], n_prev[R], last[R], pop_max[D];
    for (unsigned q = 0; q < R; q++) {
      l_prev[q] = -(1ll << 40);
      n_prev[q] = 0;
      last[q] = 0;
    }
    long long e_prev = -1;
    unsigned long long k = 0;
    unsigned slot = 0;  // k % D
    typename chan_T::value_type t;
    while (nzq[g].read_nb(t) && !t.last) {
      long long e = e_prev + 1;
      if (k >= D && pop_max[slot] + 1 > e) e = pop_max[slot] + 1;
      long long pm = e + 2;
      const long long x = t.val;
      for (unsigned q = 0; q < R; q++) {
        const unsigned p = g * R + q;
        const long long pop = e + 2 > l_prev[q] ? e + 2 : l_prev[q];
        if (pop > pm) pm = pop;
        const long long walk = l_prev[q] + (n_prev[q] > 1 ? n_prev[q] : 1);
        const long long l = pop + 1 > walk ? pop + 1 : walk;
        const unsigned long long pair = (unsigned long long)colptr[p][t.col];
        const unsigned start = (unsigned)(pair & ptr_mask), stop = (unsigned)(pair >> CONFIG_T::ptr_bits);
        const long long n = (long long)stop - (long long)start;
        if (n > 0) {
          if (l + n + 4 > last[q]) last[q] = l + n + 4;
          unsigned row = 0;
          for (unsigned i = start; i < stop; i++) {
            const unsigned ent = (unsigned)entries[p][i];
            const unsigned ri = ent & index_mask;
            row = i == start ? ri : row + 1 + ri;
            acc[p][row] = mac_sum<CONFIG_T, acc_t>(
                acc[p][row], mac_product<CONFIG_T, acc_t>((long long)(weight[ent >> CONFIG_T::index_bits] * x)));
          }
        }
        l_prev[q] = l;
        n_prev[q] = n;
      }
      pop_max[slot] = pm;
      slot = slot == D - 1 ? 0 : slot + 1;
      e_prev = e;
      k++;
    }
    long long c = 1;
    if (k) {
      c = 0;
      for (unsigned q = 0; q < R; q++) {
        if (last[q] > c) c = last[q];
        if (l_prev[q] + 1 > c) c = l_prev[q] + 1;
      }
    }
    if (c > cycles) cycles = c;
  }
  return (unsigned long long)cycles;
}
#endif

// Process 2: the PE array and the gather (see the top of the file).
template <class data_T, class res_T, typename CONFIG_T, class tok_T, class chan_T>
void engine(chan_T nzq[CONFIG_T::col_groups], res_T res[CONFIG_T::n_out],
            const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
            const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
            const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
            const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
  typedef arith_types<data_T, CONFIG_T> A;
  typedef typename A::acc_t acc_t;
  typedef typename A::x_t x_t;
  typedef typename A::w_t w_t;
  typedef state_types<CONFIG_T> S;
  typedef typename S::ptr_u ptr_u;
  typedef typename S::col_u col_u;
  typedef typename S::row_u row_u;
  typedef typename S::slot_u slot_u;
  typedef typename S::count_u count_u;
  typedef typename S::entry_u entry_u;
  typedef typename S::pair_u pair_u;
  const unsigned P = CONFIG_T::n_pe;
  const unsigned G = CONFIG_T::col_groups;
  const unsigned R = CONFIG_T::n_pe / CONFIG_T::col_groups;
  const unsigned D = CONFIG_T::fifo_depth;
  const unsigned NL = CONFIG_T::n_local;
  const unsigned max_cycles = CONFIG_T::max_cycles;
  const unsigned n_codes = 1u << CONFIG_T::code_bits;
  const unsigned index_mask = (1u << CONFIG_T::index_bits) - 1;
  const pair_u ptr_mask = ((pair_u)1 << CONFIG_T::ptr_bits) - 1;
  const unsigned bias_banks = R < CONFIG_T::n_out ? R : CONFIG_T::n_out;

#pragma HLS ARRAY_PARTITION variable = entries complete dim = 1
#pragma HLS ARRAY_PARTITION variable = colptr complete dim = 1
#pragma HLS ARRAY_PARTITION variable = codebook complete
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = bias_banks

  // Accumulators: one RAM per PE, cleared by the gather as it reads them (static: they persist).
  static acc_t acc[CONFIG_T::n_pe][CONFIG_T::n_local] = {};
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
#pragma HLS BIND_STORAGE variable = acc type = ram_2p

  w_t weight[1 << CONFIG_T::code_bits];
#pragma HLS ARRAY_PARTITION variable = weight complete
  for (unsigned c = 0; c < n_codes; c++) {
#pragma HLS UNROLL
    weight[c] = (w_t)codebook[c].to_int64();
  }

  if (CONFIG_T::hls_accum_sat) {
    // Saturating hls4ml accumulator: Vivado adds the bias first, then the columns in ascending order,
    // saturating after every addition; preload the bias (one local row per cycle, counted as
    // overhead: flow/eie/perf.py adds n_local). hls_accum_sat is refused for col_groups > 1.
  preload_bias:
    for (unsigned r = 0; r < NL; r++) {
#pragma HLS PIPELINE II = 1
      EIE_COUNT_OVERHEAD();
      for (unsigned q = 0; q < R; q++) {
#pragma HLS UNROLL
        const unsigned i = r * R + q;
        if (i < CONFIG_T::n_out) {
          acc[q][r] = (acc_t)bias[i < CONFIG_T::n_out ? i : 0].to_int64() << CONFIG_T::bias_shift;
        }
      }
    }
  }

#ifdef EIE_CSIM_FAST
  const unsigned long long cycles =
      fast_pe_array<CONFIG_T, acc_t, w_t, chan_T>(nzq, acc, entries, colptr, weight);
#else
  // Group state: stream closed, broadcast register.
  bool det_done[CONFIG_T::col_groups], bc_valid[CONFIG_T::col_groups];
  col_u bc_col[CONFIG_T::col_groups];
  x_t bc_val[CONFIG_T::col_groups];
#pragma HLS ARRAY_PARTITION variable = det_done complete
#pragma HLS ARRAY_PARTITION variable = bc_valid complete
#pragma HLS ARRAY_PARTITION variable = bc_col complete
#pragma HLS ARRAY_PARTITION variable = bc_val complete
  // PE state: queue, A (pair register), B (walk), C/D/E stage registers, bypass f/f2.
  col_u q_col[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
  x_t q_val[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
  slot_u head[CONFIG_T::n_pe], tail[CONFIG_T::n_pe];
  count_u cnt[CONFIG_T::n_pe];
  bool a1[CONFIG_T::n_pe];
  x_t a1_x[CONFIG_T::n_pe];
  pair_u ptr_q[CONFIG_T::n_pe];
  ptr_u b_cur[CONFIG_T::n_pe], b_end[CONFIG_T::n_pe];
  x_t b_x[CONFIG_T::n_pe];
  bool b_first[CONFIG_T::n_pe];
  bool c_valid[CONFIG_T::n_pe], c_first[CONFIG_T::n_pe];
  x_t c_x[CONFIG_T::n_pe];
  entry_u ent_q[CONFIG_T::n_pe];
  row_u last_row[CONFIG_T::n_pe];
  bool d_valid[CONFIG_T::n_pe];
  row_u d_row[CONFIG_T::n_pe];
  x_t d_x[CONFIG_T::n_pe];
  w_t cb_q[CONFIG_T::n_pe];
  bool e_valid[CONFIG_T::n_pe];
  row_u e_row[CONFIG_T::n_pe];
  acc_t e_prod[CONFIG_T::n_pe], acc_q[CONFIG_T::n_pe];
  bool f_valid[CONFIG_T::n_pe], f2_valid[CONFIG_T::n_pe];
  row_u f_row[CONFIG_T::n_pe], f2_row[CONFIG_T::n_pe];
  acc_t f_sum[CONFIG_T::n_pe], f2_sum[CONFIG_T::n_pe];
#pragma HLS ARRAY_PARTITION variable = q_col complete dim = 0
#pragma HLS ARRAY_PARTITION variable = q_val complete dim = 0
#pragma HLS ARRAY_PARTITION variable = head complete
#pragma HLS ARRAY_PARTITION variable = tail complete
#pragma HLS ARRAY_PARTITION variable = cnt complete
#pragma HLS ARRAY_PARTITION variable = a1 complete
#pragma HLS ARRAY_PARTITION variable = a1_x complete
#pragma HLS ARRAY_PARTITION variable = ptr_q complete
#pragma HLS ARRAY_PARTITION variable = b_cur complete
#pragma HLS ARRAY_PARTITION variable = b_end complete
#pragma HLS ARRAY_PARTITION variable = b_x complete
#pragma HLS ARRAY_PARTITION variable = b_first complete
#pragma HLS ARRAY_PARTITION variable = c_valid complete
#pragma HLS ARRAY_PARTITION variable = c_first complete
#pragma HLS ARRAY_PARTITION variable = c_x complete
#pragma HLS ARRAY_PARTITION variable = ent_q complete
#pragma HLS ARRAY_PARTITION variable = last_row complete
#pragma HLS ARRAY_PARTITION variable = d_valid complete
#pragma HLS ARRAY_PARTITION variable = d_row complete
#pragma HLS ARRAY_PARTITION variable = d_x complete
#pragma HLS ARRAY_PARTITION variable = cb_q complete
#pragma HLS ARRAY_PARTITION variable = e_valid complete
#pragma HLS ARRAY_PARTITION variable = e_row complete
#pragma HLS ARRAY_PARTITION variable = e_prod complete
#pragma HLS ARRAY_PARTITION variable = acc_q complete
#pragma HLS ARRAY_PARTITION variable = f_valid complete
#pragma HLS ARRAY_PARTITION variable = f2_valid complete
#pragma HLS ARRAY_PARTITION variable = f_row complete
#pragma HLS ARRAY_PARTITION variable = f2_row complete
#pragma HLS ARRAY_PARTITION variable = f_sum complete
#pragma HLS ARRAY_PARTITION variable = f2_sum complete

init_groups:
  for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
    det_done[g] = false;
    bc_valid[g] = false;
    bc_col[g] = 0;
    bc_val[g] = 0;
  }
init_pe:
  for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
    head[p] = 0;
    tail[p] = 0;
    cnt[p] = 0;
    a1[p] = false;
    a1_x[p] = 0;
    ptr_q[p] = 0;
    b_cur[p] = 0;
    b_end[p] = 0;
    b_x[p] = 0;
    b_first[p] = false;
    c_valid[p] = false;
    c_first[p] = false;
    c_x[p] = 0;
    ent_q[p] = 0;
    last_row[p] = 0;
    d_valid[p] = false;
    d_row[p] = 0;
    d_x[p] = 0;
    cb_q[p] = 0;
    e_valid[p] = false;
    e_row[p] = 0;
    e_prod[p] = 0;
    acc_q[p] = 0;
    f_valid[p] = false;
    f2_valid[p] = false;
    f_row[p] = 0;
    f2_row[p] = 0;
    f_sum[p] = 0;
    f2_sum[p] = 0;
  }

  unsigned long long cycles = 0;
pe_array:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_cycles
    // The bypass covers writes one and two iterations old: the memory dependence has distance 2.
#pragma HLS DEPENDENCE variable = acc inter RAW distance = 2 true
    // Exit from start-of-iteration registers only.
    bool running = false;
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      running = running || !det_done[g] || bc_valid[g];
    }
    for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
      running = running || cnt[p] != 0 || a1[p] || b_cur[p] != b_end[p] || c_valid[p] || d_valid[p] ||
                e_valid[p];
    }
    if (!running) break;
    cycles++;

    // Broadcast gate per group (start-of-cycle registers): every queue has count + in-flight < D.
    bool emit[CONFIG_T::col_groups];
    tok_T tok[CONFIG_T::col_groups];
#pragma HLS ARRAY_PARTITION variable = emit complete
#pragma HLS ARRAY_PARTITION variable = tok complete
    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      bool gate = true;
      for (unsigned q = 0; q < R; q++) {  // an AND tree over the group's compares
#pragma HLS UNROLL
        gate = gate && (unsigned)cnt[g * R + q] + (bc_valid[g] ? 1u : 0u) < D;
      }
      emit[g] = false;
      tok[g].col = 0;
      tok[g].val = 0;
      tok[g].last = false;
      if (!det_done[g] && gate && nzq[g].read_nb(tok[g])) {
        if (tok[g].last) {
          det_done[g] = true;
        } else {
          emit[g] = true;
        }
      }
    }

    for (unsigned p = 0; p < P; p++) {
#pragma HLS UNROLL
      const unsigned g = p / R;  // the PE's group (a constant after unrolling)
      const bool b_active = b_cur[p] != b_end[p];
      const bool accept = !b_active || (ptr_u)(b_cur[p] + 1) == b_end[p];
      const bool pop = cnt[p] != 0 && (!a1[p] || accept);
      const bool load = a1[p] && accept;

      // E: add and write back (the bypass forwards the sums of the last two cycles)
      acc_t sum = 0;
      if (e_valid[p]) {
        const acc_t base = (f_valid[p] && f_row[p] == e_row[p])   ? f_sum[p]
                           : (f2_valid[p] && f2_row[p] == e_row[p]) ? f2_sum[p]
                                                                    : acc_q[p];
        sum = mac_sum<CONFIG_T, acc_t>(base, e_prod[p]);  // the bypass forwards this (requantised) sum
      }
      // D: accumulator read (before E's write: read-first, as a RAM read in the same cycle)
      acc_t rd = 0;
      if (d_valid[p]) rd = acc[p][d_row[p]];
      if (e_valid[p]) acc[p][e_row[p]] = sum;
      f2_valid[p] = f_valid[p];
      f2_row[p] = f_row[p];
      f2_sum[p] = f_sum[p];
      f_valid[p] = e_valid[p];
      f_row[p] = e_row[p];
      f_sum[p] = sum;
      e_valid[p] = d_valid[p];
      e_row[p] = d_row[p];
      e_prod[p] = mac_product<CONFIG_T, acc_t>((long long)(cb_q[p] * d_x[p]));
      acc_q[p] = rd;

      // C: row and codebook
      const unsigned code = (unsigned)(ent_q[p] >> CONFIG_T::index_bits);
      const row_u ri = (row_u)(ent_q[p] & index_mask);
      const row_u row = c_first[p] ? ri : (row_u)(last_row[p] + 1 + ri);
      if (c_valid[p]) last_row[p] = row;
      d_valid[p] = c_valid[p];
      d_row[p] = row;
      d_x[p] = c_x[p];
      cb_q[p] = weight[code];

      // B: entry read (prefetched address b_cur), take the next pair in the cycle of the last entry
      if (b_active) ent_q[p] = entries[p][b_cur[p]];
      c_valid[p] = b_active;
      c_first[p] = b_first[p];
      c_x[p] = b_x[p];
      if (load) {
        b_cur[p] = (ptr_u)(ptr_q[p] & ptr_mask);
        b_end[p] = (ptr_u)(ptr_q[p] >> CONFIG_T::ptr_bits);
        b_first[p] = true;
        b_x[p] = a1_x[p];
      } else if (b_active) {
        b_cur[p] = b_cur[p] + 1;
        b_first[p] = false;
      }

      // A: pop the head, read its pointer pair into ptr_q
      if (pop) {
        const slot_u h = head[p];
        ptr_q[p] = colptr[p][q_col[p][h]];
        a1_x[p] = q_val[p][h];
        head[p] = h == D - 1 ? (slot_u)0 : (slot_u)(h + 1);
      }
      a1[p] = pop || (a1[p] && !accept);

      // queue: the group's broadcast register (valid since the previous cycle) is pushed
      const bool push = bc_valid[g];
      if (push) {
        const slot_u t = tail[p];
        q_col[p][t] = bc_col[g];
        q_val[p][t] = bc_val[g];
        tail[p] = t == D - 1 ? (slot_u)0 : (slot_u)(t + 1);
      }
      cnt[p] = (count_u)(cnt[p] + (push ? 1 : 0) - (pop ? 1 : 0));
    }

    for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
      bc_valid[g] = emit[g];
      if (emit[g]) {
        bc_col[g] = tok[g].col;
        bc_val[g] = tok[g].val;
      }
    }
  }
#endif  // EIE_CSIM_FAST
#ifndef __SYNTHESIS__
  cycle_counter() = cycles;
#endif

gather:
  for (unsigned r = 0; r < NL; r++) {
#pragma HLS PIPELINE II = 1
    EIE_COUNT_OVERHEAD();
    for (unsigned q = 0; q < R; q++) {
#pragma HLS UNROLL
      const unsigned i = r * R + q;  // row i of W is local row r of PE g * R + q in every group g
      acc_t a = 0;
      for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
        a += acc[g * R + q][r];
        acc[g * R + q][r] = 0;  // cleared as read
      }
      if (i < CONFIG_T::n_out) {
        if (!CONFIG_T::hls_accum_sat) {  // (hls_accum_sat: preloaded before the PE array)
          a += (acc_t)bias[i < CONFIG_T::n_out ? i : 0].to_int64() << CONFIG_T::bias_shift;
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

template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
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
  static_assert((1ull << CONFIG_T::ptr_bits) > CONFIG_T::pe_capacity, "ptr_bits too narrow");
  static_assert((1ull << CONFIG_T::col_bits) >= CONFIG_T::n_cols, "col_bits too narrow");
  static_assert((1ull << CONFIG_T::row_bits) >= CONFIG_T::n_local, "row_bits too narrow");
  static_assert((1ull << CONFIG_T::slot_bits) >= CONFIG_T::fifo_depth, "slot_bits too narrow");
  static_assert((1ull << CONFIG_T::count_bits) > CONFIG_T::fifo_depth, "count_bits too narrow");
  typedef typename arith_types<data_T, CONFIG_T>::x_t x_t;
  typedef nz_token<x_t, typename state_types<CONFIG_T>::col_u> tok_T;
  typedef typename channel<tok_T, CONFIG_T::n_cols + 1>::type chan_T;
#pragma HLS DATAFLOW
#ifndef __SYNTHESIS__
  overhead_counter() = 0;
#endif
  chan_T nzq[CONFIG_T::col_groups];
#pragma HLS STREAM variable = nzq depth = 4
  detect<data_T, CONFIG_T, tok_T, chan_T>(data, nzq);
  engine<data_T, res_T, CONFIG_T, tok_T, chan_T>(nzq, res, entries, colptr, codebook, bias);
}

// hls4ml io_stream: the layer input arrives as n_in / data_T::size packs (nnet::array<T, size>, hls4ml's
// stream convention) and leaves as n_out / res_T::size packs. The packs are gathered into the input
// array (the detector scans it as in io_parallel) and the outputs written pack by pack.
template <class data_T, class res_T, typename CONFIG_T>
void dense_stream(hls::stream<data_T>& data_stream, hls::stream<res_T>& res_stream,
                  const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                  const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
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
  dense<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(data, res, entries, colptr, codebook,
                                                                           bias);
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
