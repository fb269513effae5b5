"""m7_monitoring: a local Prometheus and promtool, an instrumented model server and
its traffic, drift on a production stream."""
