"""Pure planning for Services of type LoadBalancer: Service + nodes + network facts ->
desired load balancer model; (desired, observed) -> ordered AWS actions. No I/O here."""
