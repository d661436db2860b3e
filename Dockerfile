# Image for docker-compose.yml (web, worker, beat, migrate). Same pins as `make`: requirements.lock
# for Python, package-lock.json for the front-end packages copied into static_build/.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && npm run build \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /app coachhub \
    && mkdir -p /data/media && chown coachhub /data/media

USER coachhub
EXPOSE 8000
CMD ["gunicorn", "coachhub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
