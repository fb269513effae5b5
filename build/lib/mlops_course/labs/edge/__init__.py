"""m5_edge (and m0_setup's runtime check): TensorFlow Lite conversion and evaluation
with the LiteRT interpreter, and magnitude pruning."""
