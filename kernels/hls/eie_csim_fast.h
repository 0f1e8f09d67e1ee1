// csim fast path of the PE array (kernels/hls/eie_dense.h includes this; native integers only:
// EIE_HLS_TYPES and EIE_CSIM_CYCLE_LEVEL run the register-level loop of eie_pe_array.h instead).
#ifndef EIE_CSIM_FAST_H_
#define EIE_CSIM_FAST_H_

#include "eie_types.h"

namespace eie {

#if !defined(EIE_HLS_TYPES) && !defined(EIE_CSIM_CYCLE_LEVEL)
#define EIE_CSIM_FAST 1
// csim fast path (native integers only; EIE_HLS_TYPES and EIE_CSIM_CYCLE_LEVEL run the PE-array
// loop of eie_pe_array.h register by register). The same schedule, computed per broadcast column instead of
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

}  // namespace eie

#endif  // EIE_CSIM_FAST_H_
