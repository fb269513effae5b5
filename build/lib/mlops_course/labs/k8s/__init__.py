"""m4_kubernetes: manifest checks against the real Kubernetes schemas, and applying
to a cluster where one is configured."""
