# syntax=docker/dockerfile:1
# polycsi: the driver, polycsictl and every in-tree plugin on Debian 12.
#   docker build -t ghcr.io/polycsi/polycsi:0.1.0 .
# The image serves both the controller Deployment and the node DaemonSet of deploy/.

FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# One list of build dependencies for machines and images alike.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt /src/CMakeLists.txt
COPY cmake /src/cmake
COPY proto /src/proto
COPY sdk /src/sdk
COPY core /src/core
COPY plugins /src/plugins
COPY tools /src/tools
COPY docs /src/docs
COPY scripts/runtime-packages.sh /src/scripts/runtime-packages.sh
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_INSTALL_PREFIX=/usr \
 && cmake --build /build \
 && DESTDIR=/out cmake --install /build --component runtime \
 && /src/scripts/runtime-packages.sh /out/usr/lib/polycsi/bin/polycsi /out/usr/bin/polycsictl \
      /out/usr/lib/polycsi/plugins/*.so /out/usr/lib/polycsi/lib/*.so > /out/runtime-packages.txt

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
# Node tools: NVMe/TCP (nvme-cli), NFS mounts (nfs-common), filesystems (e2fsprogs, xfsprogs),
# mount/losetup/blkid (util-linux, mount), LUKS2 encryption (cryptsetup-bin,
# docs/encryption.md); then the shared libraries the binaries load, as found by
# scripts/runtime-packages.sh in the build stage. No open-iscsi: iscsi_powerstore runs the
# host's iscsiadm chrooted into the host's root (its iscsi_host_root setting), so the image's
# could only be a version that does not match the host's iscsid.
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      nvme-cli nfs-common e2fsprogs xfsprogs util-linux mount cryptsetup-bin ca-certificates \
      $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
COPY --from=build /out/usr/lib/polycsi /usr/lib/polycsi
COPY --from=build /out/usr/bin/polycsictl /usr/bin/polycsictl
# Fails the build when a plugin cannot be loaded in this image (missing library, ABI).
RUN ln -s ../lib/polycsi/bin/polycsi /usr/bin/polycsi \
 && /usr/bin/polycsi plugins --plugin-dir /usr/lib/polycsi/plugins > /tmp/plugins.txt \
 && cat /tmp/plugins.txt \
 && ! grep -q '^REFUSED' /tmp/plugins.txt \
 && rm /tmp/plugins.txt
ENTRYPOINT ["/usr/bin/polycsi"]
CMD ["--help"]
