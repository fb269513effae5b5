"""m5_edge (and m0_setup's runtime check): TensorFlow Lite measuring helpers, magnitude
pruning, quantization-aware training, and the edge device (a capped container or
process) the models run on."""
