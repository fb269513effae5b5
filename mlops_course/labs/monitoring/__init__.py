"""m7_monitoring: every part of the monitoring lab, real and on 127.0.0.1 only.

One module per part: ``prometheus`` (server, PromQL, promtool), ``pushgateway`` (metrics
of pipeline runs), ``alertmanager`` (routing, silences, a webhook receiver as the team
chat), ``node_exporter`` (the build machine, and a bounded disk load), ``logs`` (rsyslog
collecting JSON logs shipped by ``logger``), ``model_api`` (the module-1 service as a
local process, and its traffic), ``drift`` (the features it served), ``dashboards``
(PromQL results as plots); ``service`` is what they share, ``parts`` their statuses."""
