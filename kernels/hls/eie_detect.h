// The leading-non-zero detector of the EIE kernel (kernels/hls/eie_dense.h includes this): the first
// process of the DATAFLOW region, feeding the PE array one hls::stream of non-zero tokens per column
// group. Windows of detect_width inputs; each cycle it sends, per group, the first not yet sent
// non-zero column of the window (local column, value), moving to the next window in the cycle of the
// window's last one (a window without one costs a cycle); an end token closes each group's stream.
//   detect         io_parallel: windows over the input array
//   detect_stream  io_stream: the input arrives as nnet::array packs of PF = pack_T::size values; each
//                  pack is read in the first cycle of its first window and scanned in ceil(PF / W)
//                  windows as it arrives (the scan overlaps the read; windows never straddle packs)
// Iterations (eie::overhead_counter): per window max(1, the most non-zeros of one group in it);
// flow/eie/perf.py detect_cycles models both (pack = PF for the stream).
#ifndef EIE_DETECT_H_
#define EIE_DETECT_H_

#include "eie_types.h"

namespace eie {

// A set of detector lanes (one bit per input of a window).
template <typename CONFIG_T> struct lanes {
#ifdef EIE_HLS_TYPES
  typedef ap_uint<CONFIG_T::detect_width> type;
#else
  typedef unsigned long long type;
#endif
};

// One detector cycle on a window: x[u] is input base + u (0 past the end), taken the lanes already sent.
// Per group, a priority encoder sends the first non-zero not yet sent (one write per stream and cycle).
// Returns whether a group has another one left: then the window takes another cycle (taken grows);
// otherwise taken is cleared for the next window.
template <typename CONFIG_T, class tok_T, class chan_T, class x_t>
bool scan_window(const x_t x[CONFIG_T::detect_width], unsigned base, typename lanes<CONFIG_T>::type& taken,
                 chan_T nzq[CONFIG_T::col_groups]) {
#pragma HLS INLINE
  typedef typename lanes<CONFIG_T>::type lanes_u;
  const unsigned W = CONFIG_T::detect_width;
  const unsigned G = CONFIG_T::col_groups;
  bool nz[W];
#pragma HLS ARRAY_PARTITION variable = nz complete
  for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
    nz[u] = x[u] != 0 && ((taken >> u) & 1) == 0;
  }
  bool more = false;  // a group has another non-zero in this window after this cycle's
  lanes_u sent = 0;
  for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
    bool found = false;
    unsigned lane = 0;
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      if (nz[u] && (base + u) % G == g) {
        if (found) more = true;
        if (!found) lane = u;
        found = true;
      }
    }
    if (found) {
      tok_T t;
      t.col = (base + lane) / G;
      t.val = x[lane];
      t.last = false;
      nzq[g].write(t);
      sent |= (lanes_u)1 << lane;
    }
  }
  taken = more ? (lanes_u)(taken | sent) : (lanes_u)0;
  return more;
}

// The end token of every group's stream.
template <typename CONFIG_T, class tok_T, class chan_T>
void close_streams(chan_T nzq[CONFIG_T::col_groups]) {
#pragma HLS INLINE
close:
  for (unsigned g = 0; g < CONFIG_T::col_groups; g++) {
#pragma HLS UNROLL
    tok_T t;
    t.col = 0;
    t.val = 0;
    t.last = true;
    nzq[g].write(t);
  }
}

// io_parallel: the detector over the input array.
template <class data_T, typename CONFIG_T, class tok_T, class chan_T>
void detect(const data_T data[CONFIG_T::n_in], chan_T nzq[CONFIG_T::col_groups]) {
  typedef typename arith_types<data_T, CONFIG_T>::x_t x_t;
  const unsigned W = CONFIG_T::detect_width;
  const unsigned n_win = (CONFIG_T::n_in + W - 1) / W;
  const unsigned max_iter = CONFIG_T::n_in + n_win;
  const unsigned in_banks = W < CONFIG_T::n_in ? W : CONFIG_T::n_in;
#pragma HLS ARRAY_PARTITION variable = data cyclic factor = in_banks
  typename lanes<CONFIG_T>::type taken = 0;  // lanes of the current window already sent
  unsigned w = 0;
detect_loop:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_iter
    if (w == n_win) break;
    EIE_COUNT_OVERHEAD();
    x_t x[W];
#pragma HLS ARRAY_PARTITION variable = x complete
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      const unsigned j = w * W + u;
      x[u] = j < CONFIG_T::n_in ? (x_t)raw_bits(data[j < CONFIG_T::n_in ? j : 0]) : (x_t)0;
    }
    if (!scan_window<CONFIG_T, tok_T, chan_T, x_t>(x, w * W, taken, nzq)) w++;
  }
  close_streams<CONFIG_T, tok_T, chan_T>(nzq);
}

// io_stream: the detector on hls4ml's packs as they arrive (one read per pack, in the pack's first
// cycle; the pack register is the stream's own width).
template <class pack_T, typename CONFIG_T, class tok_T, class chan_T>
void detect_stream(hls::stream<pack_T>& data_stream, chan_T nzq[CONFIG_T::col_groups]) {
  typedef typename arith_types<typename pack_T::value_type, CONFIG_T>::x_t x_t;
  const unsigned W = CONFIG_T::detect_width;
  const unsigned PF = pack_T::size;
  const unsigned n_packs = CONFIG_T::n_in / PF;
  const unsigned wpp = (PF + W - 1) / W;  // windows per pack
  const unsigned max_iter = CONFIG_T::n_in + n_packs * wpp;
  typename pack_T::value_type buf[PF];
#pragma HLS ARRAY_PARTITION variable = buf complete
  typename lanes<CONFIG_T>::type taken = 0;
  unsigned k = 0, w = 0;  // pack, window within the pack
detect_stream_loop:
  for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = max_iter
    if (k == n_packs) break;
    EIE_COUNT_OVERHEAD();
    if (w == 0 && taken == 0) {  // the pack's first cycle (taken != 0 while a window takes more)
      const pack_T pack = data_stream.read();
      for (unsigned j = 0; j < PF; j++) {
#pragma HLS UNROLL
        buf[j] = pack[j];
      }
    }
    x_t x[W];
#pragma HLS ARRAY_PARTITION variable = x complete
    for (unsigned u = 0; u < W; u++) {
#pragma HLS UNROLL
      const unsigned j = w * W + u;
      x[u] = j < PF ? (x_t)raw_bits(buf[j < PF ? j : 0]) : (x_t)0;
    }
    if (!scan_window<CONFIG_T, tok_T, chan_T, x_t>(x, k * PF + w * W, taken, nzq)) {
      if (w == wpp - 1) {
        w = 0;
        k++;
      } else {
        w++;
      }
    }
  }
  close_streams<CONFIG_T, tok_T, chan_T>(nzq);
}

}  // namespace eie

#endif  // EIE_DETECT_H_
