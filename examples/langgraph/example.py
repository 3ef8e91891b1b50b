"""A LangGraph agent whose every tool call goes through airlock.

    AIRLOCK_SERVER=http://127.0.0.1:8750 AIRLOCK_AGENT_KEY=... python example.py

The "model" is scripted (no LLM needed): it lists files, then deletes a
production deployment (which airlock holds for approval), then grants itself
admin rights (which airlock denies). The deployment and the grants are simulated
in a file, ``cluster.log``, so that what ran is plain to see.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from airlock_guard import Airlock, bash_call, guarded_graph

CLUSTER = Path(os.environ.get("CLUSTER_LOG", "cluster.log"))


def list_files(path: str) -> str:
    return "\n".join(sorted(os.listdir(path)))


def delete_deployment(name: str, namespace: str) -> str:
    with CLUSTER.open("a") as f:
        f.write(f"deleted deployment {namespace}/{name}\n")
    return f"deployment {namespace}/{name} deleted"


def grant_admin(role: str) -> str:
    with CLUSTER.open("a") as f:
        f.write(f"granted admin to {role}\n")
    return f"{role} is admin"


TOOLS = {"list_files": list_files, "delete_deployment": delete_deployment, "grant_admin": grant_admin}


def as_airlock_call(name: str, args: dict) -> dict:
    if name == "list_files":
        return bash_call(f"ls {args['path']}")
    if name == "delete_deployment":
        return bash_call(
            f"kubectl delete deployment {args['name']} -n {args['namespace']}",
            reason="the deployment is crash-looping; it is recreated by the pipeline",
        )
    if name == "grant_admin":
        return bash_call(
            f"aws iam attach-role-policy --role-name {args['role']} "
            "--policy-arn arn:aws:iam::aws:policy/AdministratorAccess"
        )
    # A tool airlock is not told about is still asked about, as what it is.
    return {"hook_event_name": "PreToolUse", "tool_name": name, "tool_input": args}


SCRIPT = [
    [
        {"name": "list_files", "args": {"path": "."}, "id": "call_1"},
        {"name": "delete_deployment", "args": {"name": "api", "namespace": "prod"}, "id": "call_2"},
    ],
    [{"name": "grant_admin", "args": {"role": "agent-role"}, "id": "call_3"}],
]


def scripted_model(state):
    turns = sum(1 for m in state["messages"] if isinstance(m, AIMessage))
    if turns < len(SCRIPT):
        return {"messages": [AIMessage(content="", tool_calls=SCRIPT[turns])]}
    results = [m.content for m in state["messages"] if m.type == "tool"]
    return {"messages": [AIMessage(content="done:\n" + "\n".join(results))]}


def build(airlock: Airlock):
    return guarded_graph(scripted_model, TOOLS, as_airlock_call, airlock).compile(checkpointer=InMemorySaver())


def main() -> int:
    airlock = Airlock(os.environ["AIRLOCK_SERVER"], os.environ["AIRLOCK_AGENT_KEY"])
    graph = build(airlock)
    config = {"configurable": {"thread_id": "example"}}
    result = graph.invoke({"messages": [HumanMessage("clean up the prod api")], "airlock": {}}, config)
    while "__interrupt__" in result:
        request = result["__interrupt__"][0].value
        for r in request["action_requests"]:
            print("held:", r["description"])
        answer = input("approve in airlock, then type approve (or reject): ").strip()
        decisions = [
            {"type": "approve"} if answer == "approve" else {"type": "reject", "message": answer}
            for _ in request["action_requests"]
        ]
        result = graph.invoke(Command(resume={"decisions": decisions}), config)
    print(result["messages"][-1].content)
    return 0


if __name__ == "__main__":
    sys.exit(main())
