#!/usr/bin/env python3
"""check_serve.py MVC_SERVE MVC_RUN ARTIFACT IMAGE

mvc-serve on ARTIFACT (a tiny multimodal checkpoint with a chat template), on 127.0.0.1
and a free port, driven by the official `openai` Python client, against mvc-run on the
same artifact:

  - greedy chat, non-streaming and streaming (with usage), equal to mvc-run --messages;
  - n=2 (both greedy choices equal), stop strings (cut before the first match, never
    sent), a completion (/v1/completions) equal to mvc-run -p;
  - an image by data: URL, equal to mvc-run with the same image;
  - two images behind the same text: the second shares no image pages with the first
    (prefix keys hash the pixels), the first again reuses its own; the same image after
    other text takes its features from the vision cache; every answer is mvc-run's;
  - 32 concurrent greedy requests, each equal to the request alone (continuous batching);
  - a stream closed by the client after its first chunk: the server gets back to 0 KV
    pages in use (/metrics). The tiny model may finish its 200 tokens before the server
    sees the close, so this checks the pages, not the cut; the cut mid-generation is
    mvc_serving_test's CancelledRequestsFreeTheirPages (the loop held until the cancel);
  - errors in OpenAI's shape: a wrong API key (401), an unknown model (404), a prompt
    longer than the context (413), malformed JSON and wrong types (400), a json_schema
    with a keyword the constraint cannot follow (400); /health, /v1/models, /metrics;
  - response_format json_object and json_schema: ended outputs parse (and validate against
    the schema, by a validator written here), cut ones are prefixes.
Prints one line per check; exits non-zero on any failure.
"""
import base64
import concurrent.futures
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "scripts"))
import serve_process  # noqa: E402

KEY = "test-key"
MODEL = "tiny"
failures = 0


def report(name, ok, detail=""):
    global failures
    failures += not ok
    print(f"{name}: {'ok' if ok else 'FAIL'}{(' (' + detail + ')') if detail and not ok else ''}")


def http(port, method, path, body=None, key=KEY):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def mvc_run(args, tool, artifact, extra):
    out = subprocess.run([tool, artifact, "--max-new-tokens", "8"] + extra, capture_output=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    return out.stdout.decode("utf-8", errors="replace").rstrip("\n")


def schema_valid(value, schema):
    """Whether `value` validates against `schema` (the keywords the json_schema test uses)."""
    if "enum" in schema and value not in schema["enum"]:
        return False
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
                  "null": lambda v: v is None,
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not any(checks[name](value) for name in names):
            return False
    if isinstance(value, str) and not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 1 << 40):
        return False
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 40):
            return False
        if not all(schema_valid(item, schema.get("items", {})) for item in value):
            return False
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        if any(name not in value for name in schema.get("required", [])):
            return False
        for key, item in value.items():
            if key in properties:
                if not schema_valid(item, properties[key]):
                    return False
            elif schema.get("additionalProperties", True) is False:
                return False
    return True


def json_object_prefix(text):
    """Whether `text` can be continued into a JSON object (RFC 8259): a reading of it with
    a stack of open containers, written independently of the server's automaton."""
    stack, mode, number = [], "start", ""
    def value_start(c):
        nonlocal mode, number
        if c in "{[":
            stack.append(c)
            mode = "key_or_end" if c == "{" else "array_first"
            return True
        if c == '"':
            stack.append("s")
            mode = "string"
            return True
        for word in ("true", "false", "null"):
            if c == word[0]:
                stack.append(word)
                mode = "literal:1"
                return True
        if c == "-" or c.isdigit():
            stack.append("n")
            mode, number = "number", c
            return True
        return False
    i = 0
    while i < len(text):
        c = text[i]
        i += 1
        if mode == "done":
            return False
        if mode in ("start", "value", "array_first", "key_or_end", "key", "colon", "after") and c in " \t\r\n":
            continue
        if mode == "start":
            if c != "{":
                return False
            value_start(c)
        elif mode in ("value", "array_first"):
            if mode == "array_first" and c == "]":
                stack.pop()
                mode = "after" if stack else "done"
            elif not value_start(c):
                return False
        elif mode in ("key_or_end", "key"):
            if mode == "key_or_end" and c == "}":
                stack.pop()
                mode = "after" if stack else "done"
            elif c == '"':
                stack.append("k")
                mode = "string"
            else:
                return False
        elif mode == "colon":
            if c != ":":
                return False
            mode = "value"
        elif mode == "after":
            if c == ",":
                mode = "key" if stack[-1] == "{" else "value"
            elif c == {"{": "}", "[": "]"}[stack[-1]]:
                stack.pop()
                mode = "after" if stack else "done"
            else:
                return False
        elif mode == "string":
            if c == "\\":
                if i >= len(text):
                    return True
                e = text[i]
                i += 1
                if e == "u":
                    digits = text[i:i + 4]
                    if not all(d in "0123456789abcdefABCDEF" for d in digits):
                        return False
                    i += len(digits)
                elif e not in '"\\/bfnrt':
                    return False
            elif c == '"':
                kind = stack.pop()
                mode = "colon" if kind == "k" else ("after" if stack else "done")
            elif ord(c) < 0x20:
                return False
        elif mode.startswith("literal"):
            word, at = stack[-1], int(mode.split(":")[1])
            if c != word[at]:
                return False
            if at + 1 == len(word):
                stack.pop()
                mode = "after"
            else:
                mode = f"literal:{at + 1}"
        elif mode == "number":
            if c.isdigit() or c in ".eE+-":
                number += c
                continue
            ok = re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", number)
            number = ""
            stack.pop()
            if not ok:
                return False
            mode = "after"
            i -= 1  # the byte belongs to what follows
    if mode == "number":
        return re.fullmatch(r"-?(0|[1-9][0-9]*)?(\.[0-9]*)?([eE][+-]?[0-9]*)?", number) is not None
    return True


def png(width, height, seed):
    """A PNG of random RGB pixels (written here: no imaging library needed)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    serve, run, artifact, image = sys.argv[1:5]
    with open(image, "rb") as f:
        data_url = "data:image/png;base64," + base64.b64encode(f.read()).decode()
    server, port = serve_process.start([serve, artifact, "--port", "0", "--api-key", KEY,
                                        "--served-model-name", MODEL, "--threads", "2"])
    try:
        report("health", http(port, "GET", "/health")[0] == 200)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
        report("models", [m.id for m in client.models.list()] == [MODEL])

        with tempfile.TemporaryDirectory() as tmp:
            messages = [{"role": "user", "content": "Hello, who are you?"}]
            # mvc-run reads the same messages; its template gets string content as is, so
            # give it the text part the server makes of it.
            parts = [{"role": "user", "content": [{"type": "text", "text": "Hello, who are you?"}]}]
            path = os.path.join(tmp, "m.json")
            with open(path, "w") as f:
                json.dump(parts, f)
            want = mvc_run(None, run, artifact, ["--messages", path])

            chat = dict(model=MODEL, messages=messages, max_tokens=8, temperature=0)
            got = client.chat.completions.create(**chat)
            report("chat greedy equals mvc-run", got.choices[0].message.content == want,
                   f"{got.choices[0].message.content!r} vs {want!r}")
            report("chat usage", got.usage.completion_tokens == 8 and got.usage.prompt_tokens > 0
                   and got.choices[0].finish_reason == "length")

            pieces, usage = [], None
            for chunk in client.chat.completions.create(**chat, stream=True,
                                                        stream_options={"include_usage": True}):
                if chunk.usage:
                    usage = chunk.usage
                for choice in chunk.choices:
                    pieces.append(choice.delta.content or "")
            report("chat streaming equals non-streaming", "".join(pieces) == want and usage is not None
                   and usage.completion_tokens == 8, f"{''.join(pieces)!r}")

            two = client.chat.completions.create(**chat, n=2)
            report("n=2", len(two.choices) == 2 and all(c.message.content == want for c in two.choices))

            # A stop string from the middle of the greedy text: cut before it.
            stop = want[3:5]
            cut = client.chat.completions.create(**chat, stop=[stop])
            report("stop string", cut.choices[0].message.content == want[:want.index(stop)]
                   and cut.choices[0].finish_reason == "stop",
                   f"stop {stop!r}: {cut.choices[0].message.content!r}")

            want_text = mvc_run(None, run, artifact, ["-p", "Hello"])
            completion = client.completions.create(model=MODEL, prompt="Hello", max_tokens=8, temperature=0)
            report("completion equals mvc-run -p", completion.choices[0].text == want_text,
                   f"{completion.choices[0].text!r} vs {want_text!r}")

            # Log probabilities: the first new token's against mvc-run's logits of the same
            # prompt (log-softmax in float64 here), then a longer greedy chat's among
            # themselves (the chosen token is the most likely one; alternatives sorted).
            ids = [1, 4, 9, 16, 25]
            logits_path = os.path.join(tmp, "logits.npy")
            mvc_run(None, run, artifact, ["--prompt-ids", ",".join(map(str, ids)),
                                          "--logits-out", logits_path])
            row = np.load(logits_path).reshape(-1).astype(np.float64)
            row = row - row.max()
            log_softmax = row - np.log(np.exp(row).sum())
            first = client.completions.create(model=MODEL, prompt=ids, max_tokens=1, temperature=0,
                                              logprobs=5).choices[0].logprobs
            top_want = np.sort(log_softmax)[::-1][:5]
            # The legacy top_logprobs is a dict by token text: tokens that decode alike
            # (the tiny vocabulary has some) share one key, the most likely one's.
            top_got = np.array(sorted(first.top_logprobs[0].values(), reverse=True))
            report("completion logprobs equal mvc-run's logits",
                   abs(first.token_logprobs[0] - top_want[0]) < 1e-5 and 1 <= len(top_got) <= 5
                   and abs(top_got[0] - top_want[0]) < 1e-5
                   and all(np.abs(top_want - g).min() < 1e-5 for g in top_got)
                   and first.text_offset == [0],
                   f"{first.token_logprobs[0]} vs {top_want[0]}; {top_got} vs {top_want}")
            # echo with logprobs: the prompt's own tokens against mvc-run's logits at every
            # prompt position (row i predicts token i + 1; the first token has none).
            all_path = os.path.join(tmp, "all.npy")
            mvc_run(None, run, artifact, ["--prompt-ids", ",".join(map(str, ids)),
                                          "--logits-out", all_path, "--all-logits"])
            rows = np.load(all_path).reshape(len(ids), -1).astype(np.float64)
            rows = rows - rows.max(axis=1, keepdims=True)
            rows = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
            echoed = client.completions.create(model=MODEL, prompt=ids, max_tokens=2, temperature=0,
                                               logprobs=2, echo=True).choices[0].logprobs
            want_prompt = [rows[i - 1, ids[i]] for i in range(1, len(ids))]
            got_prompt = echoed.token_logprobs[1:len(ids)]
            report("echo with logprobs: the prompt's tokens equal mvc-run's logits",
                   echoed.token_logprobs[0] is None and echoed.top_logprobs[0] is None
                   and len(echoed.token_logprobs) == len(ids) + 2
                   and np.abs(np.array(got_prompt) - np.array(want_prompt)).max() < 1e-5
                   and abs(echoed.token_logprobs[len(ids)] - first.token_logprobs[0]) < 1e-5,
                   f"{got_prompt} vs {want_prompt}")
            lp = client.chat.completions.create(**chat, logprobs=True, top_logprobs=3)
            content = lp.choices[0].logprobs.content
            consistent = len(content) == lp.usage.completion_tokens and all(
                len(e.top_logprobs) == 3 and e.top_logprobs[0].token == e.token
                and abs(e.top_logprobs[0].logprob - e.logprob) < 1e-7 and e.logprob <= 0
                and [t.logprob for t in e.top_logprobs] == sorted((t.logprob for t in e.top_logprobs), reverse=True)
                and bytes(e.bytes) == e.token.encode() for e in content)
            streamed = []
            for chunk in client.chat.completions.create(**chat, logprobs=True, top_logprobs=3, stream=True):
                for choice in chunk.choices:
                    if choice.logprobs:
                        streamed += [(e.token, e.logprob) for e in choice.logprobs.content]
            report("chat logprobs: greedy token first, streamed the same",
                   consistent and lp.choices[0].message.content == want
                   and streamed == [(e.token, e.logprob) for e in content],
                   f"{len(content)} entries, {len(streamed)} streamed")

            # response_format json_object: greedy and sampled choices are JSON objects (the
            # random tiny model says nothing of the kind unconstrained).
            js = client.chat.completions.create(**{**chat, "max_tokens": 64}, response_format={"type": "json_object"})
            sampled = client.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=64, temperature=1.0, seed=3, n=6,
                response_format={"type": "json_object"})
            outs = [js.choices[0]] + list(sampled.choices)
            def is_object(text):
                try:
                    return isinstance(json.loads(text), dict)
                except ValueError:
                    return False
            report("response_format json_object: ended choices are JSON objects, cut ones prefixes",
                   all(is_object(c.message.content) if c.finish_reason == "stop"
                       else json_object_prefix(c.message.content) for c in outs)
                   and js.choices[0].finish_reason == "stop" and not is_object(want)
                   and not json_object_prefix(want), repr([c.message.content for c in outs]))

            # response_format json_schema (strict): ended choices validate (a validator
            # written here, independent of the server's automaton), cut ones are prefixes.
            schema = {"type": "object", "additionalProperties": False,
                      "required": ["name", "ok", "color", "tags", "n"],
                      "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 12},
                                     "ok": {"type": "boolean"},
                                     "color": {"enum": ["red", "green", "blue"]},
                                     "tags": {"type": "array", "items": {"type": "string", "maxLength": 6},
                                              "minItems": 1, "maxItems": 3},
                                     "n": {"type": ["integer", "null"]}}}
            format_ = {"type": "json_schema", "json_schema": {"name": "card", "strict": True, "schema": schema}}
            outs = list(client.chat.completions.create(**{**chat, "max_tokens": 256},
                                                       response_format=format_).choices)
            outs += list(client.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=256, temperature=1.0, seed=5, n=6,
                response_format=format_).choices)
            ended = [c for c in outs if c.finish_reason == "stop"]
            report("response_format json_schema: ended choices validate, cut ones prefixes",
                   len(ended) >= 3 and all(schema_valid(json.loads(c.message.content), schema) for c in ended)
                   and all(json_object_prefix(c.message.content) for c in outs),
                   repr([(c.finish_reason, c.message.content) for c in outs]))

            image_parts = [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": data_url}},
                {"type": "text", "text": "What is in the picture?"}]}]
            with open(path, "w") as f:
                json.dump(image_parts, f)
            want_image = mvc_run(None, run, artifact, ["--messages", path])
            got = client.chat.completions.create(model=MODEL, messages=image_parts, max_tokens=8, temperature=0)
            report("image by data: URL equals mvc-run", got.choices[0].message.content == want_image,
                   f"{got.choices[0].message.content!r} vs {want_image!r}")

            # Two images of the same size behind the same text: the prefix cache keys image
            # positions by pixels, so the second image never reuses the first's pages, and
            # the first one again reuses its own (each answer is mvc-run's, cold).
            def image_chat(png_bytes, system=None):
                url = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
                chat_ = [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": "Describe it."}]}]
                if system:
                    chat_[0]["content"].insert(0, {"type": "text", "text": system})
                with open(path, "w") as f:
                    json.dump(chat_, f)
                return chat_, mvc_run(None, run, artifact, ["--messages", path])

            def hits():
                text = http(port, "GET", "/metrics")[1]
                return {name: float(re.search(rf"^{name} (\S+)", text, re.M).group(1)) for name in
                        ("mvc_prefix_cache_hit_tokens_total", "mvc_vision_cache_hits_total")}

            def ask(chat_):
                before = hits()
                answer = client.chat.completions.create(model=MODEL, messages=chat_, max_tokens=8,
                                                        temperature=0).choices[0].message.content
                after = hits()
                return answer, {k: after[k] - before[k] for k in after}

            chat_a, want_a = image_chat(png(40, 30, 1))
            chat_b, want_b = image_chat(png(40, 30, 2))
            got_a, _ = ask(chat_a)
            got_b, delta_b = ask(chat_b)
            got_a2, delta_a2 = ask(chat_a)
            report("same text, another image: no image pages shared; each equals mvc-run",
                   want_a != want_b and (got_a, got_b, got_a2) == (want_a, want_b, want_a)
                   and delta_b["mvc_prefix_cache_hit_tokens_total"] < delta_a2["mvc_prefix_cache_hit_tokens_total"],
                   f"{(got_a, got_b, got_a2)} vs {(want_a, want_b)}; hits {delta_b} then {delta_a2}")
            # The same image after other text: the prefix differs, the vision cache has it.
            chat_c, want_c = image_chat(png(40, 30, 1), system="Look closely.")
            got_c, delta_c = ask(chat_c)
            report("the same image after other text: features from the vision cache, equals mvc-run",
                   got_c == want_c and delta_c["mvc_vision_cache_hits_total"] >= 1,
                   f"{got_c!r} vs {want_c!r}; {delta_c}")

            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                results = list(pool.map(lambda i: client.chat.completions.create(**chat).choices[0].message.content,
                                        range(32)))
            report("32 concurrent requests equal mvc-run", all(r == want for r in results))
            # The same chat again and again: the prefix cache served its prompt's pages
            # (and the answers above are still mvc-run's).
            metrics = http(port, "GET", "/metrics")[1]
            hits = float(re.search(r"^mvc_prefix_cache_hit_tokens_total (\S+)", metrics, re.M).group(1))
            rate = float(re.search(r"^mvc_prefix_cache_hit_rate (\S+)", metrics, re.M).group(1))
            report("prefix cache hits", hits > 0 and 0 < rate <= 1, f"{hits} tokens, rate {rate}")

        # A client that closes its stream after the first chunk: the pages come back.
        stream = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=200,
                                                temperature=0.7, stream=True)
        next(iter(stream))
        stream.close()
        used = None
        deadline = time.time() + 20
        while time.time() < deadline:
            metrics = http(port, "GET", "/metrics")[1]
            used = int(re.search(r"^mvc_kv_pages_used (\d+)", metrics, re.M).group(1))
            if used == 0:
                break
            time.sleep(0.1)
        report("closed stream: pages back to 0", used == 0, f"{used} pages in use")

        def status_of(call):
            try:
                call()
                return 200
            except openai.APIStatusError as error:
                body = error.response.json()
                return error.status_code if "message" in body.get("error", {}) else -1

        bad = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0)
        report("wrong API key: 401", status_of(lambda: bad.chat.completions.create(**chat)) == 401)
        report("unknown model: 404",
               status_of(lambda: client.chat.completions.create(**dict(chat, model="other"))) == 404)
        long = [{"role": "user", "content": "word " * 5000}]
        report("prompt longer than the context: 413",
               status_of(lambda: client.chat.completions.create(**dict(chat, messages=long))) == 413)
        report("json_schema with an unsupported keyword: 400", status_of(lambda: client.chat.completions.create(
            **chat, response_format={"type": "json_schema", "json_schema": {
                "name": "x", "schema": {"type": "string", "pattern": "a+"}}})) == 400)
        code, body = http(port, "POST", "/v1/chat/completions", b'{"model": "tiny", "messages": [')
        report("malformed JSON: 400", code == 400 and "error" in json.loads(body))
        code, body = http(port, "POST", "/v1/chat/completions",
                          json.dumps(dict(chat, temperature="hot")).encode())
        report("wrong type: 400 naming the field", code == 400 and json.loads(body)["error"]["param"] == "temperature")
        code, _ = http(port, "POST", "/v1/chat/completions", json.dumps(chat).encode(), key=None)
        report("no API key: 401", code == 401)
        code, _ = http(port, "GET", "/v1/nothing")
        report("unknown endpoint: 404", code == 404)
        report("server still serving", client.chat.completions.create(**chat).choices[0].message.content == want)
    finally:
        serve_process.stop(server)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
