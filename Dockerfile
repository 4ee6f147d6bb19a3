# plex-cdf as a container: `plex-cdf run -c /config/config.yaml` as a non-root user.
#
# The image carries deploy/config.yaml at /config/config.yaml: every value comes from an environment
# variable (${VAR}), and the state (watermarks, content hashes) lives in CDF RAW, so a pod keeps nothing on
# its own disk and can be rescheduled anywhere. Mount your own file over /config/config.yaml to change it.
# Secrets come from the environment (a Kubernetes Secret, `docker run --env-file`); none is baked in.
#
#   docker build -t plex-cdf .
#   docker run --rm --env-file plex.env -p 9000:9000 plex-cdf
#   docker run --rm --env-file plex.env --entrypoint plex-cdf plex-cdf check -c /config/config.yaml

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 plexcdf \
 && useradd --system --uid 10001 --gid plexcdf --home-dir /app --create-home --shell /usr/sbin/nologin plexcdf
COPY --from=build /install /usr/local
COPY deploy/config.yaml /config/config.yaml
WORKDIR /app
USER 10001:10001
# Prometheus metrics (metrics.server in the config)
EXPOSE 9000
# SIGTERM: finish the current window, commit, exit 0 (allow 30 s or more before SIGKILL)
STOPSIGNAL SIGTERM
ENTRYPOINT ["plex-cdf", "run", "-c", "/config/config.yaml"]
