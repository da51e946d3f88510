# Stand-in for golang:1.26-bookworm: the debian stand-in plus this machine's Go toolchain
# (the build context is `go env GOROOT`).
ARG BASE
FROM ${BASE}
COPY . /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH GOTOOLCHAIN=local
RUN go version
