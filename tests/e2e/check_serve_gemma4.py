#!/usr/bin/env python3
"""check_serve_gemma4.py MVC_SERVE MVC_RUN ARTIFACT TOOLS.json

mvc-serve on a Gemma 4 chat artifact (its manifest names the "gemma4" reply format), with
the official `openai` client, against mvc-run on the same artifact:
  - a chat request with tools and chat_template_kwargs {"enable_thinking": true}: the
    prompt the server renders is mvc-run's with --tools and --enable-thinking (the same
    prompt_tokens), and the reply comes back split as mvc-run splits it: content,
    reasoning_content, tool_calls (mvc-run --reasoning show prints them from the same
    tokens; the tiny random model's reply is noise, so most are empty);
  - streaming: the content and reasoning deltas add up to the non-streaming message;
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
                          "--max-new-tokens", "12", "--reasoning", "show"], capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    prefill = int(re.search(r"prefill: (\d+) tokens", out.stderr).group(1))
    # mvc-run's rendering: [reasoning] ... [/reasoning] lines, content, tool-call JSON lines.
    printed = out.stdout
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
        extra = message.model_extra or {}
        reasoning = extra.get("reasoning_content") or ""
        calls = [json.dumps({"tool_call": {"type": "function", "function": {
            "name": c.function.name, "arguments": c.function.arguments}}}, separators=(",", ":"))
            for c in (message.tool_calls or [])]
        rendered = (f"[reasoning]\n{reasoning}\n[/reasoning]\n" if reasoning else "") + (message.content or "")
        report("reply split as mvc-run splits it", printed.startswith(rendered) and
               all(call in printed for call in calls), f"{printed!r} vs {rendered!r} {calls}")
        content, streamed_reasoning = "", ""
        for chunk in client.chat.completions.create(**request, stream=True):
            for choice in chunk.choices:
                content += choice.delta.content or ""
                streamed_reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
        report("streaming adds up to the message", content == (message.content or "") and
               streamed_reasoning == reasoning, f"{content!r} {streamed_reasoning!r}")
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
