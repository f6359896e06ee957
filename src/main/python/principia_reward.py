"""Principia as a reward function for veRL (or any Python trainer), over gRPC.

veRL, one response per call:
    custom_reward_function.path=src/main/python/principia_reward.py
    custom_reward_function.name=compute_score
veRL's batch reward manager (responses to the same question are rated jointly, in one GRM prompt):
    reward_model.reward_manager=batch custom_reward_function.name=compute_score_batch

The question comes from the dataset row's ``extra_info``: ``question`` (or ``prompt``/``query``) as text,
or ``messages`` as a list of {"role", "content"} turns ending with the user turn. ``ground_truth`` is
not used: the GRM judges without a reference answer. The reward is the response's mean GRM score over
the counted samples, mapped from 1..10 onto 0..1.

Settings, as keyword arguments (veRL: custom_reward_function.reward_kwargs) or environment variables:
    target       PRINCIPIA_TARGET     host:port of the gRPC port (default localhost:9000)
    api_key      PRINCIPIA_API_KEY    sent as 'authorization: Bearer <key>'
    samples      PRINCIPIA_SAMPLES    GRM samples k (default: the server's default)
    timeout_s    PRINCIPIA_TIMEOUT_S  deadline of one call in seconds (default 300)
    tls_ca       PRINCIPIA_TLS_CA     PEM CA file: use TLS; with tls_cert/tls_key (PRINCIPIA_TLS_CERT/_KEY), mTLS

Needs grpcio and protobuf, and stubs generated from proto/ on the path:
    protoc -I proto --python_out=OUT --grpc_python_out=OUT \
        --plugin=protoc-gen-grpc_python=$(which grpc_python_plugin) proto/principia/v1/reward.proto
"""
import json
import os
import threading

import grpc

from principia.v1 import reward_pb2 as pb
from principia.v1 import reward_pb2_grpc as rpc

_MIN_SCORE, _MAX_SCORE = 1.0, 10.0
_RETRY = json.dumps({"methodConfig": [{
    "name": [{"service": "principia.v1.RewardService"}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "1s", "maxBackoff": "10s", "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]}}]})
_stubs = {}
_lock = threading.Lock()


def _setting(kwargs, name, default=None):
    value = kwargs.get(name)
    return value if value is not None else os.environ.get("PRINCIPIA_" + name.upper(), default)


def _stub(kwargs):
    target = _setting(kwargs, "target", "localhost:9000")
    ca, cert, key = (_setting(kwargs, n) for n in ("tls_ca", "tls_cert", "tls_key"))
    with _lock:
        stub = _stubs.get((target, ca, cert, key))
        if stub is None:
            options = [("grpc.service_config", _RETRY), ("grpc.enable_retries", 1)]
            if ca:
                def read(path):
                    with open(path, "rb") as f:
                        return f.read()
                creds = grpc.ssl_channel_credentials(read(ca), read(key) if key else None, read(cert) if cert else None)
                channel = grpc.secure_channel(target, creds, options)
            else:
                channel = grpc.insecure_channel(target, options)
            stub = _stubs[(target, ca, cert, key)] = rpc.RewardServiceStub(channel)
        return stub


def _conversation(extra_info):
    info = extra_info or {}
    messages = info.get("messages")
    if messages:
        return [pb.Turn(role=m["role"], content=m["content"]) for m in messages]
    for name in ("question", "prompt", "query"):
        if isinstance(info.get(name), str) and info[name]:
            return [pb.Turn(role="user", content=info[name])]
    raise ValueError("extra_info needs the question: 'question' (text) or 'messages' (a list of role/content turns)")


def _request(conversation, responses, kwargs):
    budget = pb.Budget(samples=int(_setting(kwargs, "samples", 0)))
    return pb.ScoreRequest(conversation=conversation, responses=responses, budget=budget)


def _metadata(kwargs):
    key = _setting(kwargs, "api_key")
    return [("authorization", "Bearer " + key)] if key else None


def _reward(mean_score):
    return min(1.0, max(0.0, (mean_score - _MIN_SCORE) / (_MAX_SCORE - _MIN_SCORE)))


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """veRL's reward function: one response, its reward in [0, 1]."""
    response = _stub(kwargs).Score(_request(_conversation(extra_info), [solution_str], kwargs),
                                   timeout=float(_setting(kwargs, "timeout_s", 300)), metadata=_metadata(kwargs))
    return _reward(response.scores[0].mean_score)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs):
    """veRL's batch reward function: rewards in input order; responses to one question are rated jointly."""
    stub = _stub(kwargs)
    max_responses = stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=60, metadata=_metadata(kwargs)).limits.max_responses
    groups = {}
    for i, info in enumerate(extra_infos):
        conversation = _conversation(info)
        key = tuple((t.role, t.content) for t in conversation)
        chunks = groups.setdefault(key, [(conversation, [])])
        if len(chunks[-1][1]) == max_responses:
            chunks.append((conversation, []))
        chunks[-1][1].append(i)
    items = [chunk for chunks in groups.values() for chunk in chunks]
    batch = pb.ScoreBatchRequest(requests=[_request(c, [solution_strs[i] for i in idx], kwargs) for c, idx in items])
    answer = stub.ScoreBatch(batch, timeout=float(_setting(kwargs, "timeout_s", 300)), metadata=_metadata(kwargs))
    rewards = [0.0] * len(solution_strs)
    for (_, idx), item in zip(items, answer.responses):
        if item.HasField("error"):
            raise RuntimeError("Principia could not score responses %s: %s" % (idx, item.error.message))
        for j, i in enumerate(idx):
            rewards[i] = _reward(item.scores[j].mean_score)
    return rewards
