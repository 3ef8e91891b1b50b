"""The example against a running airlock: holds pause the graph, airlock (not the
resume value) decides whether a held call runs, denials reach the model.

    AIRLOCK_SERVER=… AIRLOCK_AGENT_KEY=… AIRLOCK_APPROVER_TOKEN=… CLUSTER_LOG=… python test_example.py

Run by `cargo test` (crates/airlock-cli/tests/langgraph.rs), which starts the
service and makes the keys. Exits non-zero on the first failed check.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from langchain_core.messages import HumanMessage
from langgraph.types import Command

import example
from airlock_guard import Airlock

SERVER = os.environ["AIRLOCK_SERVER"]
APPROVER = os.environ["AIRLOCK_APPROVER_TOKEN"]
CLUSTER = Path(os.environ["CLUSTER_LOG"])


def human(method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        SERVER + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {APPROVER}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def cluster() -> str:
    return CLUSTER.read_text() if CLUSTER.exists() else ""


def start(thread: str):
    graph = example.build(Airlock(SERVER, os.environ["AIRLOCK_AGENT_KEY"]))
    config = {"configurable": {"thread_id": thread}}
    result = graph.invoke({"messages": [HumanMessage("clean up the prod api")], "airlock": {}}, config)
    return graph, config, result


def held_id(result) -> str:
    assert "__interrupt__" in result, result
    request = result["__interrupt__"][0].value
    assert [r["name"] for r in request["action_requests"]] == ["delete_deployment"], request
    assert request["review_configs"][0]["allowed_decisions"] == ["approve", "reject"], request
    desc = request["action_requests"][0]["description"]
    return desc.split("approval as ")[1].split(":")[0]


def tool_results(result) -> dict:
    return {m.name: m.content for m in result["messages"] if m.type == "tool"}


def approved_in_airlock_runs_and_a_denial_reaches_the_model():
    graph, config, result = start("approve")
    rid = held_id(result)
    assert cluster() == "", "nothing ran while held"
    # "approve" before anyone approved in airlock: airlock still holds it.
    result = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert held_id(result) == rid, "still held: the resume value is not an approval"
    human("POST", f"/v1/approvals/{rid}/approve", {"comment": "the pipeline recreates it"})
    result = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert "__interrupt__" not in result, result
    tools = tool_results(result)
    assert "example.py" in tools["list_files"], tools
    assert tools["delete_deployment"] == "deployment prod/api deleted", tools
    assert "denied" in tools["grant_admin"] and "permission" in tools["grant_admin"], tools
    assert cluster() == "deleted deployment prod/api\n", cluster()
    status = Airlock(SERVER, os.environ["AIRLOCK_AGENT_KEY"]).status(rid)
    assert status["status"] == "consumed", status


def rejected_in_airlock_never_runs():
    before = cluster()
    graph, config, result = start("airlock-rejects")
    rid = held_id(result)
    human("POST", f"/v1/approvals/{rid}/reject", {"comment": "not in prod"})
    result = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    tools = tool_results(result)
    assert "rejected" in tools["delete_deployment"], tools
    assert cluster() == before, "the rejected deletion did not run"


def rejected_by_the_reviewer_never_runs():
    before = cluster()
    graph, config, result = start("reviewer-rejects")
    held_id(result)
    result = graph.invoke(Command(resume={"decisions": [{"type": "reject", "message": "use a rollout restart"}]}), config)
    tools = tool_results(result)
    assert "rejected by the reviewer: use a rollout restart" in tools["delete_deployment"], tools
    assert cluster() == before


if __name__ == "__main__":
    approved_in_airlock_runs_and_a_denial_reaches_the_model()
    rejected_in_airlock_never_runs()
    rejected_by_the_reviewer_never_runs()
    print("3 passed, 0 failed")
