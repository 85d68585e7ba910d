# fn's own python3.11 build (`runtime: python3.11`), plus three steps. After pip installs the exact,
# hash-checked lock (requirements.txt, compiled by `make lock`), the build stage removes what the
# function never imports (image/trim_payload.py, keep-list image/keep.txt) and compiles the rest,
# then writes certifi's CA bundle out as a hashed directory (image/ca_directory.py) that the run
# stage's REQUESTS_CA_BUNDLE names; once the function is in place too, image/import_check.py imports
# it from /function:/python alone and fails the build if the trim cut something it needs.
# `make image-payload DEST=dir` builds the same /python tree, with the same steps, and the tests run
# on it alone.
FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /function
# `openssl rehash`, for the CA directory, in this stage only. fn's 3.11 build image is Oracle Linux 8
# slim (fdk-python, internal/images/build-stage/3.11/Dockerfile), which has OpenSSL's libraries but
# not necessarily its command; apt-get in case the image is ever Debian based again, as 3.8's was.
RUN command -v openssl >/dev/null || microdnf install -y openssl || \
    { apt-get update && apt-get install -y --no-install-recommends openssl; }
COPY requirements.txt image/trim_payload.py image/keep.txt image/ca_directory.py /build/
RUN pip3 install --target /python/ --no-cache --no-cache-dir --no-compile --require-hashes \
        -r /build/requirements.txt && \
    python3 /build/trim_payload.py /python && \
    python3 /build/ca_directory.py /python/certifi/cacert.pem /python/ca-certificates && \
    rm -fr ~/.cache/pip /tmp/* /build && \
    chmod -R o+r /python
COPY func.py /function/
COPY backup_copy/ /function/backup_copy/
COPY image/import_check.py /build/
# The function's file system is read-only: compile now, or every cold start compiles in memory.
RUN python3 -m compileall -q --invalidation-mode unchecked-hash /function && chmod -R o+r /function && \
    PYTHONPATH=/function:/python python3 -S -B -P /build/import_check.py --bytecode /function /python && \
    rm -fr /build

FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build-stage /python /python
COPY --from=build-stage /function /function
ENV PYTHONPATH=/function:/python
# The SDK's vendored requests hands this to every new HTTPS connection: a hashed directory is read one
# issuer at a time, where certifi's bundle file is parsed whole each time (README, "Image and cold
# start"). Same certificates. An operator behind a TLS-inspecting proxy sets REQUESTS_CA_BUNDLE in fn
# config instead, to a bundle file or a hashed directory.
ENV REQUESTS_CA_BUNDLE=/python/ca-certificates
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
