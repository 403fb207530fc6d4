#!/usr/bin/env python3
"""Writes a random-weight checkpoint with the text shape of Gemma 3 4B (issue 22's
bounded-memory compile check): 34 layers, hidden 2560, intermediate 10240, 8 query and
4 KV heads of 256, vocabulary 262208, tied embeddings; bf16, one model.safetensors of
about 7.8 GB. Needs only numpy; writes tensor by tensor in chunks, so it holds ~64 MB.

    python3 tools/scripts/make-gemma3-4b-shape.py OUT_DIR
    /usr/bin/time -v build/bin/mvc-compile OUT_DIR -o 4b.mvc --timings

The values are seeded noise (N(0, 0.02), norms near 0): the check is about compile time and
memory, not about what the model says. Not committed (size).
"""
import json
import os
import struct
import sys

import numpy as np

HIDDEN, INTER, LAYERS, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 2560, 10240, 34, 8, 4, 256, 262208


def config():
    layer_types = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(LAYERS)]
    return {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "attn_logit_softcapping": None,
        "bos_token_id": 2,
        "eos_token_id": 1,
        "pad_token_id": 0,
        "dtype": "bfloat16",
        "final_logit_softcapping": None,
        "head_dim": HEAD_DIM,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "layer_types": layer_types,
        "max_position_embeddings": 131072,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "query_pre_attn_scalar": 256,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {
            "full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
            "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"},
        },
        "sliding_window": 1024,
        "tie_word_embeddings": True,
        "use_bidirectional_attention": False,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def tensors():
    yield "model.embed_tokens.weight", (VOCAB, HIDDEN)
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (HIDDEN,)
        yield p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM)
        yield p + "self_attn.q_norm.weight", (HEAD_DIM,)
        yield p + "self_attn.k_norm.weight", (HEAD_DIM,)
        yield p + "post_attention_layernorm.weight", (HIDDEN,)
        yield p + "pre_feedforward_layernorm.weight", (HIDDEN,)
        yield p + "mlp.gate_proj.weight", (INTER, HIDDEN)
        yield p + "mlp.up_proj.weight", (INTER, HIDDEN)
        yield p + "mlp.down_proj.weight", (HIDDEN, INTER)
        yield p + "post_feedforward_layernorm.weight", (HIDDEN,)
    yield "model.norm.weight", (HIDDEN,)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config(), f, indent=2)
    header, offset = {}, 0
    layout = list(tensors())
    for name, shape in layout:
        size = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(4)
    chunk = 32 << 20  # elements per write
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in layout:
            count = int(np.prod(shape))
            scale = 0.02 if len(shape) == 2 else 0.1
            for start in range(0, count, chunk):
                n = min(chunk, count - start)
                values = (rng.standard_normal(n, dtype=np.float32) * scale).view(np.uint32)
                f.write((values >> 16).astype(np.uint16).tobytes())  # truncation to bf16
    print(f"wrote {out}/model.safetensors: {offset / 1e9:.2f} GB in {len(layout)} tensors")


if __name__ == "__main__":
    main()
