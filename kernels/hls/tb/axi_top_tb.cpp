// Testbench of kernels/hls/eie_axi_top.h against a golden packer on plain integers.
// g++ -std=c++14 -I<ap_types> -Ikernels/hls -DEIE_STREAM_BITS=64 kernels/hls/tb/axi_top_tb.cpp && ./a.out
// Prints the first mismatch and returns 1; returns 0 when every case agrees.
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "ap_fixed.h"
#include "eie_axi_top.h"

static std::mt19937_64 rng(12345);

// Golden model: value k of a sample at bits [j*W, (j+1)*W) of word k / (S / W), j = k % (S / W).
static std::vector<uint64_t> golden_pack(const std::vector<int64_t> &raw, int W, int S) {
    const int vpw = S / W;
    const size_t words = (raw.size() + vpw - 1) / vpw;
    std::vector<uint64_t> out(words, 0);
    const uint64_t mask = W == 64 ? ~0ull : ((1ull << W) - 1);
    for (size_t k = 0; k < raw.size(); k++)
        out[k / vpw] |= ((uint64_t)raw[k] & mask) << ((k % vpw) * W);
    return out;
}

template <class T, unsigned N, bool is_signed> int check(const char *name, int n_samples) {
    const int W = T::width;
    const int64_t lo = is_signed ? -(int64_t(1) << (W - 1)) : 0;
    const int64_t hi = is_signed ? (int64_t(1) << (W - 1)) - 1 : (int64_t(1) << W) - 1;
    std::uniform_int_distribution<int64_t> dist(lo, hi);
    hls::stream<eie::axis_word> in("in"), out("out");
    std::vector<std::vector<int64_t>> samples;
    std::vector<uint64_t> expect;
    for (int s = 0; s < n_samples; s++) {
        std::vector<int64_t> raw(N);
        for (unsigned k = 0; k < N; k++)
            raw[k] = (k == 0) ? lo : (k == 1 ? hi : dist(rng));
        samples.push_back(raw);
        std::vector<uint64_t> w = golden_pack(raw, W, EIE_STREAM_BITS);
        for (size_t i = 0; i < w.size(); i++) {
            eie::axis_word word;
            word.data = w[i];
            word.keep = -1;
            word.strb = -1;
            word.last = 0;
            in.write(word);
            expect.push_back(w[i]);
        }
    }
    for (int s = 0; s < n_samples; s++) {
        T x[N];
        eie::read_sample<T, N>(in, x);
        for (unsigned k = 0; k < N; k++) {
            ap_int<64> got_bits = 0;
            got_bits.range(W - 1, 0) = x[k].range(W - 1, 0);
            int64_t got = got_bits.to_int64();
            if (is_signed && W < 64 && (got >> (W - 1)) & 1)
                got -= int64_t(1) << W;
            if (got != samples[s][k]) {
                printf("FAIL %s: read_sample sample %d value %u: got %lld expected %lld\n", name, s, k, (long long)got,
                       (long long)samples[s][k]);
                return 1;
            }
        }
        eie::write_sample<T, N>(out, x, s + 1 == n_samples);
    }
    if (!in.empty()) {
        printf("FAIL %s: read_sample left %zu words\n", name, in.size());
        return 1;
    }
    if (out.size() != expect.size()) {
        printf("FAIL %s: write_sample wrote %zu words, expected %zu\n", name, out.size(), expect.size());
        return 1;
    }
    for (size_t i = 0; i < expect.size(); i++) {
        eie::axis_word word = out.read();
        const bool last = i + 1 == expect.size();
        if ((uint64_t)word.data.to_uint64() != expect[i] || (word.last == 1) != last) {
            printf("FAIL %s: word %zu: got %016llx last=%d expected %016llx last=%d\n", name, i,
                   (unsigned long long)word.data.to_uint64(), (int)word.last, (unsigned long long)expect[i], last);
            return 1;
        }
    }
    printf("ok %s: %d samples of %u x %d bits in %d-bit words (%u words/sample)\n", name, n_samples, N, W,
           EIE_STREAM_BITS, eie::stream_layout<T, N>::words);
    return 0;
}

// io_stream tops: a sample through to_packs / from_packs keeps every value in place (a stand-in for
// hls4ml's nnet::array: value_type, size, operator[]).
template <class T, unsigned S> struct pack_of {
    typedef T value_type;
    static const unsigned size = S;
    T data[S];
    T &operator[](unsigned i) { return data[i]; }
    const T &operator[](unsigned i) const { return data[i]; }
};

int check_packs() {
    typedef ap_fixed<10, 3> T;
    typedef pack_of<T, 4> P;
    const unsigned N = 12;
    T x[N], y[N];
    for (unsigned k = 0; k < N; k++) x[k].range(9, 0) = (int)(rng() & 1023);
    hls::stream<P> packs("packs");
    eie::to_packs<P, N>(x, packs);
    if (packs.size() != N / P::size) {
        printf("MISMATCH packs: %u packs, expected %u\n", (unsigned)packs.size(), N / P::size);
        return 1;
    }
    P first = packs.read();
    for (unsigned j = 0; j < P::size; j++) {
        if (first[j] != x[j]) {
            printf("MISMATCH packs: value %u of the first pack\n", j);
            return 1;
        }
    }
    hls::stream<P> again("again");
    again.write(first);
    while (!packs.empty()) again.write(packs.read());
    eie::from_packs<P, N>(again, y);
    for (unsigned k = 0; k < N; k++) {
        if (y[k] != x[k]) {
            printf("MISMATCH packs: value %u after from_packs\n", k);
            return 1;
        }
    }
    printf("ok packs: %u values in %u packs of %u and back\n", N, N / P::size, P::size);
    return 0;
}

int main() {
    int fails = 0;
    fails += check<ap_fixed<16, 6, AP_RND, AP_SAT>, 8, true>("fixed16x8", 5);
    fails += check<ap_fixed<12, 4>, 7, true>("fixed12x7", 3);
    fails += check<ap_fixed<7, 2>, 10, true>("fixed7x10", 4);
    fails += check<ap_ufixed<5, 5>, 3, false>("ufixed5x3", 2);
    fails += check<ap_int<EIE_STREAM_BITS>, 3, true>("int_full_word", 2);
    fails += check<ap_fixed<3, 1>, 1, true>("fixed3x1", 1);
    fails += check<ap_uint<1>, 17, false>("bits17", 3);
    fails += check_packs();
    return fails ? 1 : 0;
}
