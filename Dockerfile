# ecgvision Challenge 2024 image: CPU by default, no network needed at run time.
#   docker build -t ecgvision .
#   docker run --rm --network none -v $PWD/train:/data/train:ro -v $PWD/model:/model \
#       ecgvision python train_model.py -d /data/train -m /model
#   docker run --rm --network none -v $PWD/hidden:/data/hidden:ro -v $PWD/model:/model:ro \
#       -v $PWD/outputs:/outputs ecgvision python run_model.py -d /data/hidden -m /model -o /outputs -f
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    ECGVISION_CACHE=/tmp/ecgvision-cache

# The CPU-only torch wheels (the default PyPI ones bundle CUDA: several GB). For a GPU image,
# build with --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu124 (or similar).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

WORKDIR /challenge

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --index-url "${TORCH_INDEX_URL}" \
        $(grep -E '^(torch|torchvision)==' requirements.txt) \
    && pip install -r requirements.txt

# The repository, including the bundled default model/ folder (see .dockerignore for what is left out).
COPY . .

# No network is used at run time: nothing is downloaded by train_model.py or run_model.py.
CMD ["python", "run_model.py", "--help"]
