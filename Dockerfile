# Deployer's own image. One image, three roles chosen by the command:
# `start` (receiver and worker in one process, the default), `serve`, `worker`.
#
#   docker build -t deployer .
#   docker build --build-arg BASE_IMAGE=mirror.example.org/node:20-bookworm-slim -t deployer .
#
# BASE_IMAGE must be Debian bookworm with Node >= 20.18.1 and npm: the stages
# below use apt and npm. Where no registry can be pulled from,
# scripts/local-base-image.sh makes one on the machine (debootstrap and its Node):
#   eval "$(bash scripts/local-base-image.sh)" && docker build --build-arg BASE_IMAGE="$BASE_IMAGE" -t deployer .
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Compile, then drop the dev dependencies: what is left is what `npm ci --omit=dev`
# installs, without downloading it all a second time for the runtime stage.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE} AS runtime
# git fetches the sources to build; ca-certificates for HTTPS to GitHub and
# registries; openssh-client for `docker -H ssh://…` contexts.
# The docker CLI: bookworm has no docker-cli package (it arrives in trixie), and
# docker.io would also install dockerd, containerd and runc, which this image never
# runs (it talks to the host's engine through the mounted socket). So only
# /usr/bin/docker is taken out of the docker.io package.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
  && cd /tmp \
  && apt-get download docker.io \
  && dpkg-deb --fsys-tarfile docker.io_*.deb | tar -xO ./usr/bin/docker >/usr/local/bin/docker \
  && chmod 755 /usr/local/bin/docker \
  && rm docker.io_*.deb \
  && rm -rf /var/lib/apt/lists/* \
  && docker --version

WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# Not root: the receiver needs no privilege at all. The worker needs the host's
# /var/run/docker.sock, and access to it is root on the host anyway; rather than
# run as root for that, docker-compose.yml adds this user to the socket's group
# (DOCKER_GID). A fixed uid lets operators chown the files they mount (SSH keys,
# docker contexts in /home/deployer/.docker).
RUN useradd --uid 10001 --create-home --home-dir /home/deployer --shell /usr/sbin/nologin deployer
USER deployer

# Probot listens on localhost unless HOST is set; in a container that is unreachable.
ENV HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["node", "dist/src/entry/cli.js"]
CMD ["start"]
