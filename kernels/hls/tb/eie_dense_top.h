#ifndef EIE_DENSE_TOP_H_
#define EIE_DENSE_TOP_H_
#include "eie_dense.h"
#include "eie_dense_config.h"

void eie_dense_top(const input_t data[N_IN], output_t res[N_OUT]);
#endif
