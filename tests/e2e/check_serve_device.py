#!/usr/bin/env python3
"""check_serve_device.py MVC_SERVE MVC_RUN ARTIFACT IMAGE DEVICE

mvc-serve on another device (cuda-emu: the cuda path's kernels on the emulator), a
representative part of check_serve.py: greedy chat, an image by data: URL and 6
concurrent requests each equal to mvc-run on the same device, and a json_schema
response that validates. Prints one line per check; exits non-zero on any failure.
"""
import base64
import concurrent.futures
import json
import os
import sys
import tempfile

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_serve  # noqa: E402
from check_serve import report, serve_process, schema_valid  # noqa: E402


def main():
    serve, run, artifact, image, device = sys.argv[1:6]
    with open(image, "rb") as f:
        data_url = "data:image/png;base64," + base64.b64encode(f.read()).decode()
    server, port = serve_process.start([serve, artifact, "--port", "0", "--device", device,
                                        "--served-model-name", "tiny", "--threads", "2"])
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.json")

            def want_of(messages):
                with open(path, "w") as f:
                    json.dump(messages, f)
                return check_serve.mvc_run(None, run, artifact, ["--messages", path, "--device", device])

            def ask(messages):
                return client.chat.completions.create(model="tiny", messages=messages, max_tokens=8,
                                                      temperature=0).choices[0].message.content

            text = [{"role": "user", "content": [{"type": "text", "text": "Hello, who are you?"}]}]
            want = want_of(text)
            report(f"{device}: chat greedy equals mvc-run", ask(text) == want)
            pictured = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url}},
                                                     {"type": "text", "text": "What is in the picture?"}]}]
            report(f"{device}: image by data: URL equals mvc-run", ask(pictured) == want_of(pictured))
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(lambda _: ask(text), range(6)))
            report(f"{device}: 6 concurrent requests equal mvc-run", answers == [want] * 6)
            schema = {"type": "object", "additionalProperties": False, "required": ["ok", "color"],
                      "properties": {"ok": {"type": "boolean"}, "color": {"enum": ["red", "blue"]}}}
            out = client.chat.completions.create(
                model="tiny", messages=text, max_tokens=256, temperature=0,
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "s", "schema": schema}}).choices[0]
            report(f"{device}: json_schema response validates",
                   out.finish_reason == "stop" and schema_valid(json.loads(out.message.content), schema),
                   repr(out.message.content))
    finally:
        serve_process.stop(server)
    sys.exit(1 if check_serve.failures else 0)


if __name__ == "__main__":
    main()
