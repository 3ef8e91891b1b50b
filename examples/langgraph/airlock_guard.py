"""Ask airlock before every tool call of a LangGraph agent.

The graph gets three nodes between the model and the tools:

    model ─▶ airlock_check ─▶ (all decided) ─▶ run_tools ─▶ model
                  │
                  └─▶ (some held for approval) ─▶ await_approval ─▶ run_tools

* ``airlock_check`` submits each tool call to airlock (``POST /v1/actions``) once,
  and keeps airlock's answer in the graph state: allowed, denied (with the reason
  the model should read), or held for approval (with the request's id).
* ``await_approval`` pauses the graph with ``interrupt()`` while any call is held,
  in LangChain's human-in-the-loop format (``action_requests`` and
  ``review_configs``). The reviewer answers with ``Command(resume={"decisions":
  [...]})``: ``approve`` means "I approved it in airlock, go on", and airlock is
  asked again (it, not the resume value, says whether the call may run);
  ``reject`` ends the call with the reviewer's message.
* ``run_tools`` runs what airlock let through (an approved call is resubmitted
  with its approval, which airlock uses once) and answers the rest with a tool
  message saying why not, so that the model escalates instead of improvising.

Only the standard library talks to airlock; LangGraph and langchain-core build
the graph.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated, Any, Callable, TypedDict

from langchain_core.messages import AnyMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt


class Airlock:
    """The agent's side of the airlock service: its URL and the agent's key."""

    def __init__(self, server: str, key: str, timeout: float = 35.0):
        self.server = server.rstrip("/")
        self.key = key
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            # A refusal says why in its JSON body.
            try:
                return {"status": "denied", "error": json.load(e).get("error", str(e))}
            except ValueError:
                return {"status": "denied", "error": str(e)}
        except (urllib.error.URLError, TimeoutError) as e:
            # Fail closed: no answer is a denial.
            return {"status": "denied", "error": f"airlock did not answer: {e}"}

    def submit(self, call: dict, approval: str | None = None) -> dict:
        path = "/v1/actions" + (f"?approval={approval}" if approval else "")
        return self._request("POST", path, call)

    def status(self, request_id: str, wait: str = "0s") -> dict:
        return self._request("GET", f"/v1/actions/{request_id}?wait={wait}")


def reason_of(answer: dict) -> str:
    decision = answer.get("decision") or {}
    return decision.get("reason") or answer.get("error") or "no reason given"


class GuardedState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    # tool_call_id -> {"status": allowed|denied|pending|approved|rejected, "id", "reason"}
    airlock: dict[str, dict]


def guarded_graph(
    model: Callable[[GuardedState], dict],
    tools: dict[str, Callable[..., str]],
    as_airlock_call: Callable[[str, dict], dict],
    airlock: Airlock,
) -> StateGraph:
    """A model–tools loop in which airlock decides every tool call.

    ``as_airlock_call(name, args)`` says what the call is, as airlock reads it: a
    hook-style payload (``{"tool_name": "Bash", "tool_input": {"command": ...}}``),
    an MCP ``tools/call``, or an Action.
    """

    def pending_calls(state: GuardedState) -> list[dict]:
        last = state["messages"][-1]
        return list(getattr(last, "tool_calls", None) or [])

    def airlock_check(state: GuardedState) -> dict:
        decided = {}
        for tc in pending_calls(state):
            answer = airlock.submit(as_airlock_call(tc["name"], tc["args"]))
            decided[tc["id"]] = {
                "status": answer.get("status", "denied"),
                "id": answer.get("id"),
                "reason": reason_of(answer),
            }
        return {"airlock": decided}

    def await_approval(state: GuardedState) -> dict:
        decided = dict(state["airlock"])
        while True:
            held = [tc for tc in pending_calls(state) if decided[tc["id"]]["status"] == "pending"]
            if not held:
                return {"airlock": decided}
            # LangChain's human-in-the-loop request: what is held, and what the
            # reviewer may answer.
            answer = interrupt(
                {
                    "action_requests": [
                        {
                            "name": tc["name"],
                            "args": tc["args"],
                            "description": f"airlock holds this call for approval as {decided[tc['id']]['id']}: "
                            f"{decided[tc['id']]['reason']} Approve it in airlock "
                            f"(airlock approvals approve {decided[tc['id']]['id']}), then resume with approve.",
                        }
                        for tc in held
                    ],
                    "review_configs": [
                        {"action_name": tc["name"], "allowed_decisions": ["approve", "reject"]} for tc in held
                    ],
                }
            )
            decisions = (answer or {}).get("decisions", [])
            for tc, d in zip(held, decisions):
                entry = decided[tc["id"]]
                if d.get("type") == "reject":
                    entry.update(status="rejected", reason=f"rejected by the reviewer: {d.get('message', '')}")
                    continue
                # "approve" here is a request to look again: airlock decides.
                now = airlock.status(entry["id"], wait="2s")
                if now.get("status") == "approved":
                    entry.update(status="approved")
                elif now.get("status") != "pending":
                    entry.update(
                        status="rejected",
                        reason=f"airlock says {now.get('status')}: {now.get('resolution') or now.get('error')}",
                    )

    def run_tools(state: GuardedState) -> dict:
        out = []
        for tc in pending_calls(state):
            entry = state["airlock"][tc["id"]]
            status = entry["status"]
            if status == "approved":
                used = airlock.submit(as_airlock_call(tc["name"], tc["args"]), approval=entry["id"])
                status = "allowed" if used.get("allowed") else "denied"
                if status == "denied":
                    entry = {**entry, "reason": reason_of(used)}
            if status == "allowed":
                content = tools[tc["name"]](**tc["args"])
            else:
                content = f"airlock did not let this call through ({status}): {entry['reason']}"
            out.append(ToolMessage(content=content, tool_call_id=tc["id"], name=tc["name"]))
        return {"messages": out}

    def after_model(state: GuardedState) -> str:
        return "airlock_check" if pending_calls(state) else END

    def after_check(state: GuardedState) -> str:
        held = any(v["status"] == "pending" for v in state["airlock"].values())
        return "await_approval" if held else "run_tools"

    g = StateGraph(GuardedState)
    g.add_node("model", model)
    g.add_node("airlock_check", airlock_check)
    g.add_node("await_approval", await_approval)
    g.add_node("run_tools", run_tools)
    g.add_edge(START, "model")
    g.add_conditional_edges("model", after_model, ["airlock_check", END])
    g.add_conditional_edges("airlock_check", after_check, ["await_approval", "run_tools"])
    g.add_edge("await_approval", "run_tools")
    g.add_edge("run_tools", "model")
    return g


def bash_call(command: str, reason: str | None = None) -> dict:
    """A shell command as airlock reads it (the shape of a coding agent's hook)."""
    call: dict[str, Any] = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}}
    if reason:
        call["tool_input"]["description"] = reason
    return call
