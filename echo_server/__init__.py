"""Echo server for the field procedure's proof step: reports the source IP that reached it.

Run it outside the cluster (``python -m echo_server`` or the Docker image in this directory)
and ``curl`` it from a pod: the answer ``Requester IP: <ip>`` shows the pod's Egress IP.
"""

from echo_server.app import create_app

__all__ = ["create_app"]
