// Types and configuration of the EIE kernel (kernels/hls/eie_dense.h includes this): the layer config
// struct flow/eie/codegen.py derives from, the MAC arithmetic shared by the PE-array loop and the csim
// fast path, the narrow state and arithmetic types, and the detector -> PE-array channel.
//
// Arithmetic is on raw integers (bit-exact with flow/eie/reference.py):
//   acc = (bias_raw << bias_shift) + sum codebook_raw[code] * x_raw;  res = (res_T)(accum_t)acc.
// accum_t holds the sum of the absolute values of a row's products and bias, so no partial sum
// overflows (the order of the additions is free).
#ifndef EIE_TYPES_H_
#define EIE_TYPES_H_

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

}  // namespace eie

#endif  // EIE_TYPES_H_
