# CPU image of the skindeep web app and REST API.
#   docker build -t skindeep .
#   docker run --rm -p 8000:8000 skindeep          # then open http://localhost:8000/
# The model ships inside the package (src/skindeep/weights/skindeep.onnx); nothing is downloaded at
# run time. Uploads are never written to disk unless you pass --save-dir (and mount a volume for it).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: OpenMP for onnxruntime/OpenCV; libglib2.0-0: OpenCV's headless build still links it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/skindeep
COPY pyproject.toml README.md ./
COPY src ./src
# serve: FastAPI + uvicorn; face: dlib landmarks so eyes, brows and lips are never touched.
RUN pip install ".[serve,face]" \
    && useradd --create-home --uid 1000 skindeep

USER skindeep
WORKDIR /home/skindeep
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
# Inside a container the server must listen on all interfaces; -p decides who can reach it.
ENTRYPOINT ["skindeep", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD []
