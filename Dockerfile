# fn's own python3.11 build (`runtime: python3.11`), plus two steps. After pip installs the exact,
# hash-checked lock (requirements.txt, compiled by `make lock`), the build stage removes what the
# function never imports (image/trim_payload.py, keep-list image/keep.txt) and compiles the rest;
# once the function is in place too, image/import_check.py imports it from /function:/python alone
# and fails the build if the trim cut something it needs. `make image-payload DEST=dir` builds the
# same /python tree, with the same check, and the tests run on it alone.
FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /function
COPY requirements.txt image/trim_payload.py image/keep.txt /build/
RUN pip3 install --target /python/ --no-cache --no-cache-dir --no-compile --require-hashes \
        -r /build/requirements.txt && \
    python3 /build/trim_payload.py /python && \
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
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
