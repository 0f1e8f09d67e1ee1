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
// The kernel, one concern per header (this one includes them all; generated code includes only it):
//   eie_types.h       config struct, MAC arithmetic, narrow state types, the detector -> PE-array channel
//   eie_detect.h      process 1: the leading-non-zero detector (io_parallel array, io_stream packs)
//   eie_pe_array.h    process 2a: the PE-array loop, register by register (one iteration = one clock)
//   eie_csim_fast.h   the same schedule per broadcast column, for csim with native integers
//   eie_dense.h       process 2: engine = bias preload, PE array, gather; the dense / dense_stream tops
// DATAFLOW region: detect -> one hls::stream per group -> engine (-> write_packs for io_stream).
// Gather (one local row of every PE per cycle): out_i = sum over groups of the partial sums + bias_i
// << bias_shift, ReLU, requantise to res_T (ap_fixed cast); the accumulators are cleared as read
// (the next call starts from zero, as in the RTL).
//
// csim counts the PE-array iterations (eie::cycle_counter()) and the bias preload + detector + gather
// iterations (eie::overhead_counter()); flow/eie/perf.py models both exactly. With native integers
// csim does not step the PE-array loop register by register: fast_pe_array computes the same schedule
// per broadcast column (identical sums and cycle count; -DEIE_CSIM_CYCLE_LEVEL or EIE_HLS_TYPES run
// the loop itself, and tests/eie/test_kernel_csim.py checks the two against each other and the
// model). In csim the detector runs to the end before the engine (sequential dataflow), so the
// engine's cycle count is the one with a detector that never lets the stream run dry; the RTL's
// detector is gated directly (flow/eie/perf.py states the difference).
//
// hls4ml parity (issue 13): hls_accum requantises every product into accum_t (requant<prod_t>) in stage
// D, hls_accum_sat saturates every sum (requant<sum_t>) in stage E (the bypass forwards the saturated
// sum) with the bias preloaded before the PE array (Vivado's order: bias, then columns ascending; one
// group only), pre_cast casts to pre_t before the ReLU in the gather; dense_stream is hls4ml's
// io_stream (nnet::array packs in and out).
#ifndef EIE_DENSE_H_
#define EIE_DENSE_H_

#include "eie_types.h"
#include "eie_detect.h"
#include "eie_pe_array.h"
#include "eie_csim_fast.h"  // (defines EIE_CSIM_FAST in csim with native integers only)

namespace eie {

// Process 2: the bias preload (hls_accum_sat), the PE array and the gather (see the top of the file).
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
  const unsigned G = CONFIG_T::col_groups;
  const unsigned R = CONFIG_T::n_pe / CONFIG_T::col_groups;
  const unsigned NL = CONFIG_T::n_local;
  const unsigned n_codes = 1u << CONFIG_T::code_bits;
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
  const unsigned long long cycles =
      pe_array_loop<CONFIG_T, acc_t, x_t, w_t, tok_T, chan_T>(nzq, acc, entries, colptr, weight);
#endif
#ifndef __SYNTHESIS__
  cycle_counter() = cycles;
#else
  (void)cycles;
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


// Compile-time checks of a layer config (the widths codegen derives from the layer).
template <typename CONFIG_T, unsigned in_pack>
void check_config() {
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
  static_assert(CONFIG_T::n_in % in_pack == 0, "n_in must be a multiple of the input pack size");
}

// The detector -> PE array token and channel of a layer with raw inputs of type data_T.
template <class data_T, typename CONFIG_T> struct dense_channel {
  typedef nz_token<typename arith_types<data_T, CONFIG_T>::x_t, typename state_types<CONFIG_T>::col_u> tok_T;
  typedef typename channel<tok_T, CONFIG_T::n_cols + 1>::type chan_T;
};

// io_parallel: input and output arrays.
template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
           const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
           const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
           const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
  check_config<CONFIG_T, 1>();
  typedef typename dense_channel<data_T, CONFIG_T>::tok_T tok_T;
  typedef typename dense_channel<data_T, CONFIG_T>::chan_T chan_T;
#pragma HLS DATAFLOW
#ifndef __SYNTHESIS__
  overhead_counter() = 0;
#endif
  chan_T nzq[CONFIG_T::col_groups];
#pragma HLS STREAM variable = nzq depth = 4
  detect<data_T, CONFIG_T, tok_T, chan_T>(data, nzq);
  engine<data_T, res_T, CONFIG_T, tok_T, chan_T>(nzq, res, entries, colptr, codebook, bias);
}

// io_stream, last process: the outputs leave as n_out / res_T::size packs (hls4ml's nnet::array).
template <class res_T, typename CONFIG_T>
void write_packs(const typename res_T::value_type res[CONFIG_T::n_out], hls::stream<res_T>& res_stream) {
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

// hls4ml io_stream: the layer input arrives as n_in / data_T::size packs (nnet::array<T, size>, hls4ml's
// stream convention), which the detector scans as they arrive (detect_stream); the outputs leave as
// n_out / res_T::size packs after the gather.
template <class data_T, class res_T, typename CONFIG_T>
void dense_stream(hls::stream<data_T>& data_stream, hls::stream<res_T>& res_stream,
                  const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                  const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
                  const typename CONFIG_T::weight_t codebook[1 << CONFIG_T::code_bits],
                  const typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
  check_config<CONFIG_T, data_T::size>();
  static_assert(CONFIG_T::n_out % res_T::size == 0, "n_out must be a multiple of the output pack size");
  typedef typename data_T::value_type in_T;
  typedef typename res_T::value_type out_T;
  typedef typename dense_channel<in_T, CONFIG_T>::tok_T tok_T;
  typedef typename dense_channel<in_T, CONFIG_T>::chan_T chan_T;
#pragma HLS DATAFLOW
#ifndef __SYNTHESIS__
  overhead_counter() = 0;
#endif
  chan_T nzq[CONFIG_T::col_groups];
#pragma HLS STREAM variable = nzq depth = 4
  out_T res[CONFIG_T::n_out];
  detect_stream<data_T, CONFIG_T, tok_T, chan_T>(data_stream, nzq);
  engine<in_T, out_T, CONFIG_T, tok_T, chan_T>(nzq, res, entries, colptr, codebook, bias);
  write_packs<res_T, CONFIG_T>(res, res_stream);
}

}  // namespace eie

#endif  // EIE_DENSE_H_
