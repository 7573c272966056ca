# sina-aggregator as a container: `aggregator run` as a non-root user, state in a volume.
#   docker build -t sina-aggregator .
#   docker run -d -p 8080:8080 -v sina-aggregator:/var/lib/sina-aggregator sina-aggregator
# Your own config: mount it at /etc/sina-aggregator/aggregator.toml (read-only is fine).
# Reload it without a restart: docker kill -s HUP <container>.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /tmp/src/
COPY aggregator /tmp/src/aggregator
RUN pip install /tmp/src && rm -rf /tmp/src

# The starter config, listening on every interface of the container, state in the volume.
RUN aggregator init /etc/sina-aggregator --data /var/lib/sina-aggregator --host 0.0.0.0 \
    && useradd --system --uid 10001 --user-group --no-create-home \
       --home-dir /var/lib/sina-aggregator aggregator \
    && install -d -o aggregator -g aggregator /var/lib/sina-aggregator
ENV AGGREGATOR_CONFIG=/etc/sina-aggregator/aggregator.toml

VOLUME /var/lib/sina-aggregator
WORKDIR /var/lib/sina-aggregator
USER aggregator
EXPOSE 8080

# 200 while at least one source is healthy (see README, /healthz); slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0)"]

CMD ["aggregator", "run"]
