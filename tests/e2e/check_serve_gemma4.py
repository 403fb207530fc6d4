#!/usr/bin/env python3
"""check_serve_gemma4.py MVC_SERVE MVC_RUN ARTIFACT TOOLS.json

mvc-serve on a Gemma 4 chat artifact (its manifest names the "gemma4" reply format), with
the official `openai` client, against mvc-run on the same artifact:
  - a chat request with tools and chat_template_kwargs {"enable_thinking": true}: the
    prompt the server renders is mvc-run's with --tools and --enable-thinking (the same
    prompt_tokens); the reply comes back as a message (its split into content,
    reasoning_content and tool_calls is mvc_pipeline_test's ReplyStream.OpenAiMessageAndDeltas:
    the tiny random model only repeats a whitespace token, so its reply here is empty and
    could not show a split);
  - bad tools: 400 naming the entry, param "tools".
"""
import json
import os
import re
import subprocess
import sys

import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "scripts"))
import serve_process  # noqa: E402

KEY = "test-key"
failures = 0


def report(name, ok, detail=""):
    global failures
    failures += not ok
    print(f"{name}: {'ok' if ok else 'FAIL'}{(' (' + detail + ')') if detail and not ok else ''}")


def main():
    serve, run, artifact, tools_path = sys.argv[1:5]
    tools = json.load(open(tools_path))
    question = "weather in Paris?"
    out = subprocess.run([run, artifact, "--chat", "-p", question, "--tools", tools_path, "--enable-thinking",
                          "--max-new-tokens", "12"], capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    prefill = int(re.search(r"prefill: (\d+) tokens", out.stderr).group(1))
    server, port = serve_process.start([serve, artifact, "--port", "0", "--api-key", KEY,
                                        "--served-model-name", "tiny", "--threads", "2"])
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
        request = dict(model="tiny", messages=[{"role": "user", "content": question}], tools=tools,
                       max_tokens=12, temperature=0, extra_body={"chat_template_kwargs": {"enable_thinking": True}})
        got = client.chat.completions.create(**request)
        message = got.choices[0].message
        report("tools and enable_thinking reach the template (mvc-run's prompt)",
               got.usage.prompt_tokens == prefill, f"{got.usage.prompt_tokens} vs {prefill}")
        report("assistant message", message.role == "assistant" and isinstance(message.content, str)
               and got.choices[0].finish_reason == "length")
        try:
            client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}],
                                           tools=[{"type": "function", "function": {"name": "bad name"}}])
            report("bad tools: 400", False, "accepted")
        except openai.BadRequestError as e:
            body = e.body if isinstance(e.body, dict) else {}
            report("bad tools: 400", body.get("param") == "tools" and "tools[0].function.name" in body.get("message", ""),
                   str(e.body))
    finally:
        serve_process.stop(server)
    if failures:
        sys.exit(f"FAIL: {failures} checks")


if __name__ == "__main__":
    main()
