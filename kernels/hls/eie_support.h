// Support for kernels/hls/eie_dense.h: the raw-bit access to ap_fixed values the integer datapath
// needs, and the C-simulation cycle counters the tests compare with flow/eie/perf.py.
#ifndef EIE_SUPPORT_H_
#define EIE_SUPPORT_H_

#include "ap_fixed.h"
#include "ap_int.h"

// Synthesis uses exact-width ap_int arithmetic; csim uses native integers holding the same values.
// Define EIE_HLS_TYPES to run the synthesis arithmetic in csim (tests/test_kernel_csim.py does).
#if defined(__SYNTHESIS__) && !defined(EIE_HLS_TYPES)
#define EIE_HLS_TYPES
#endif

namespace eie {

#ifndef __SYNTHESIS__
// C simulation only: cycles of the last PE-array run (compared with flow/eie/perf.py in the tests).
inline unsigned long long& cycle_counter() {
  static unsigned long long cycles = 0;
  return cycles;
}
// C simulation only: iterations of init_acc, detect and gather in the last run (one cycle each at
// II=1; flow/eie/perf.py overhead_cycles = n_local + ceil(n_in / detect_width) + n_local).
inline unsigned long long& overhead_counter() {
  static unsigned long long cycles = 0;
  return cycles;
}
#define EIE_COUNT_OVERHEAD() (overhead_counter()++)
#else
#define EIE_COUNT_OVERHEAD() ((void)0)
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

}  // namespace eie

#endif  // EIE_SUPPORT_H_
