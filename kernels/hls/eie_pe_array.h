// The PE array of the EIE kernel, register by register (kernels/hls/eie_dense.h includes this; in csim
// with native integers eie_csim_fast.h computes the same schedule per column instead). One iteration
// of the pe_array loop is one clock (II=1 intended), on the RTL engine's pipeline (kernels/rtl/eie_pe.sv).
// Per group, a broadcast register (bc) takes the next token when the gate is open: every queue of the
// group has count + (bc valid) < D (an AND over the R PEs of a compare on start-of-cycle registers);
// bc is pushed into the R queues the next cycle. Per PE:
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
#ifndef EIE_PE_ARRAY_H_
#define EIE_PE_ARRAY_H_

#include "eie_types.h"

// The per-PE pipeline registers, one entry (type, name, reset value) each, by stage: every one is an
// array over the PEs, completely partitioned (one register per PE) and reset before the loop.
#define EIE_PE_REGISTERS(X)                                                                            \
  /* queue */ X(slot_u, head, 0) X(slot_u, tail, 0) X(count_u, cnt, 0)                                 \
  /* A */ X(bool, a1, false) X(x_t, a1_x, 0) X(pair_u, ptr_q, 0)                                       \
  /* B */ X(ptr_u, b_cur, 0) X(ptr_u, b_end, 0) X(x_t, b_x, 0) X(bool, b_first, false)                 \
  /* C */ X(bool, c_valid, false) X(bool, c_first, false) X(x_t, c_x, 0) X(entry_u, ent_q, 0)          \
  X(row_u, last_row, 0)                                                                                \
  /* D */ X(bool, d_valid, false) X(row_u, d_row, 0) X(x_t, d_x, 0) X(w_t, cb_q, 0)                    \
  /* E */ X(bool, e_valid, false) X(row_u, e_row, 0) X(acc_t, e_prod, 0) X(acc_t, acc_q, 0)            \
  /* bypass */ X(bool, f_valid, false) X(row_u, f_row, 0) X(acc_t, f_sum, 0)                          \
  X(bool, f2_valid, false) X(row_u, f2_row, 0) X(acc_t, f2_sum, 0)
#define EIE_PE_DECLARE(T, name, reset) \
  T name[CONFIG_T::n_pe];              \
  EIE_PRAGMA(HLS ARRAY_PARTITION variable = name complete)
#define EIE_PE_RESET(T, name, reset) name[p] = reset;

namespace eie {

// Runs the PE array until every group's stream is closed and every PE is idle; returns its iterations.
template <typename CONFIG_T, class acc_t, class x_t, class w_t, class tok_T, class chan_T>
unsigned long long pe_array_loop(chan_T nzq[CONFIG_T::col_groups], acc_t acc[CONFIG_T::n_pe][CONFIG_T::n_local],
                                 const typename CONFIG_T::entry_t entries[CONFIG_T::n_pe][CONFIG_T::pe_capacity],
                                 const typename CONFIG_T::pair_t colptr[CONFIG_T::n_pe][CONFIG_T::n_cols],
                                 const w_t weight[1 << CONFIG_T::code_bits]) {
#pragma HLS INLINE
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
  const unsigned max_cycles = CONFIG_T::max_cycles;
  const unsigned index_mask = (1u << CONFIG_T::index_bits) - 1;
  const pair_u ptr_mask = ((pair_u)1 << CONFIG_T::ptr_bits) - 1;

  // Group state: stream closed, broadcast register.
  bool det_done[CONFIG_T::col_groups], bc_valid[CONFIG_T::col_groups];
  col_u bc_col[CONFIG_T::col_groups];
  x_t bc_val[CONFIG_T::col_groups];
#pragma HLS ARRAY_PARTITION variable = det_done complete
#pragma HLS ARRAY_PARTITION variable = bc_valid complete
#pragma HLS ARRAY_PARTITION variable = bc_col complete
#pragma HLS ARRAY_PARTITION variable = bc_val complete
  // PE state: the queue slots, then the stage registers of EIE_PE_REGISTERS.
  col_u q_col[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
  x_t q_val[CONFIG_T::n_pe][CONFIG_T::fifo_depth];
#pragma HLS ARRAY_PARTITION variable = q_col complete dim = 0
#pragma HLS ARRAY_PARTITION variable = q_val complete dim = 0
  EIE_PE_REGISTERS(EIE_PE_DECLARE)

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
    EIE_PE_REGISTERS(EIE_PE_RESET)
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
  return cycles;
}

}  // namespace eie

#undef EIE_PE_REGISTERS
#undef EIE_PE_DECLARE
#undef EIE_PE_RESET

#endif  // EIE_PE_ARRAY_H_
