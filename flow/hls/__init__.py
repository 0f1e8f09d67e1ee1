"""hls4ml backend 'EIE': Dense layers become EIEDense on the sparse PE array; the rest stays hls4ml's."""
