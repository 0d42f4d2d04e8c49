# madoguchi application image. Translation models are installed at run time from files with
# `madoguchi translate install`, never downloaded by the image.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bots bots
COPY dialogs dialogs
COPY handoff handoff
COPY casecore casecore
COPY i18n i18n
COPY madoguchi madoguchi
RUN pip install ".[translate]" && useradd --system --home /var/lib/madoguchi madoguchi \
    && mkdir -p /var/lib/madoguchi /var/lib/madoguchi-keys && chown madoguchi /var/lib/madoguchi /var/lib/madoguchi-keys
USER madoguchi
ENV MADOGUCHI_DATA_DIR=/var/lib/madoguchi
# the residents' data keys, on a volume of their own: backed up apart from the database (README)
ENV MADOGUCHI_KEYSTORE_PATH=/var/lib/madoguchi-keys/keys.db
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sh", "-c", "madoguchi db upgrade && madoguchi serve --host 0.0.0.0 --port 8000"]
