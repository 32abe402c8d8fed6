# redraft node image.
#
# No base image can be pulled where redraft is built and tested, so the image
# is made from nothing but the release binary and the shared libraries it
# links (plus the loader). `scripts/docker-build.sh` builds the binary and
# gathers them into docker/rootfs/ (git-ignored), then runs `docker build`.
FROM scratch
COPY docker/rootfs/ /
VOLUME /data
EXPOSE 6379 16379
ENTRYPOINT ["/usr/local/bin/redraft"]
CMD ["--bind", "0.0.0.0", "--port", "6379", "--dir", "/data"]
