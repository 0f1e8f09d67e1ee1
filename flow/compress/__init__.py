"""Deep Compression: prune -> share (trained k-means codebooks) -> quantize -> Huffman storage."""
