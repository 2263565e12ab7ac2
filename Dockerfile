# ckpt-operator container image. Stage 1 builds the daemon on Debian bookworm with the same
# Debian packages as every other build (hack/install-deps.sh --build). Stage 2 is an empty image
# holding only what the binary needs at run time (hack/image-rootfs.sh: the stripped binary, the
# shared libraries ldd lists, the CA bundle, a passwd entry), running as non-root user 65532.
#   docker build -t ckpt-operator:0.1.0 .
FROM debian:bookworm AS build
COPY hack/install-deps.sh /src/hack/install-deps.sh
RUN bash /src/hack/install-deps.sh --build
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCH=OFF \
 && cmake --build /build --target ckpt-operator \
 && bash /src/hack/image-rootfs.sh /build/controller/ckpt-operator /rootfs

FROM scratch
COPY --from=build /rootfs /
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/ckpt-operator"]
