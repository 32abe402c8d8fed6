# redraft node image.
#
# No base image can be pulled where redraft is built and tested, so the image
# is made from nothing but the release binary and the shared libraries it
# links (plus the loader). Build it with `scripts/docker-build.sh [TAG]`: it
# gathers them as docker/rootfs/ in a temporary build context next to this
# file and runs `docker build` there. `compose.yaml` runs three such nodes.
FROM scratch
COPY docker/rootfs/ /
VOLUME /data
EXPOSE 6379 16379
ENTRYPOINT ["/usr/local/bin/redraft"]
CMD ["--bind", "0.0.0.0", "--port", "6379", "--dir", "/data"]
