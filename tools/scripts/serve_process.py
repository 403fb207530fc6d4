"""Starting and stopping mvc-serve from Python (tests/e2e/check_serve.py, load_serve.py)."""
import re
import subprocess
import threading
import time
import urllib.request


def start(command, ready_timeout=120):
    """Runs `command` (mvc-serve ... --port 0); returns (process, port) once /health is 200.
    The server's log is read on a thread so that it never blocks on a full pipe."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    port = None
    for line in process.stderr:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        raise RuntimeError(f"mvc-serve exited before listening (status {process.wait()})")
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    return wait_ready(process, port, ready_timeout, "mvc-serve")


def wait_ready(process, port, timeout, name):
    """(process, port) once the server's /health is 200; stops it and raises if it exits
    or takes longer than `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return process, port
        except Exception:  # noqa: BLE001 - 503 while loading, or not accepting yet
            if time.time() > deadline or process.poll() is not None:
                stop(process)
                raise RuntimeError(f"{name} did not become ready")
            time.sleep(0.1)


def start_llama_server(binary, gguf, threads, clients, context_per_client, ready_timeout=300):
    """Runs llama.cpp's llama-server (built beside the project, never part of it) on `gguf`
    with one slot per client, on a free loopback port; returns (process, port) once its
    /health is 200."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([binary, "-m", gguf, "--host", "127.0.0.1", "--port", str(port),
                                "-t", str(threads), "-np", str(clients),
                                "-c", str(context_per_client * clients), "--alias", "m"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_ready(process, port, ready_timeout, "llama-server")


def stop(process):
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
