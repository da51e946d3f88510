# Stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 with venv and pip.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
