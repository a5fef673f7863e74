"""The official Kubernetes Python client against the simulated API (driven by tests/it/clients.rs).

Lists pods, watches them with the client's defaults (``watch=True``, no timeout) until a deletion
arrives, creates a Lead, patches its status, reads it back and deletes it; records an Event
through events.k8s.io/v1 and finds it through core v1 by a field selector; creates a
PodDisruptionBudget, evicts a pod through it and is refused the next. Prints one JSON line per
step; any exception fails the run with a traceback.
"""

import datetime
import json
import sys
import threading
import time

from kubernetes import client, watch


def say(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def main(server, namespace):
    config = client.Configuration()
    config.host = server
    api_client = client.ApiClient(config)
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)

    pods = core.list_namespaced_pod(namespace)
    names = sorted(p.metadata.name for p in pods.items)
    say("list", names=names, resourceVersion=pods.metadata.resource_version)

    victim = names[1]
    seen = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_pod, namespace):
        seen.append(event["type"])
        if event["type"] == "ADDED" and len(seen) == len(names):
            # every pod announced: delete one from another thread, as a second client would
            threading.Thread(
                target=lambda: core.delete_namespaced_pod(victim, namespace, grace_period_seconds=0)
            ).start()
        if event["type"] == "DELETED":
            say("watch", deleted=event["object"].metadata.name, types=seen)
            stream.stop()
            break

    lead = {
        "apiVersion": "conferenceli.dev/v1alpha1",
        "kind": "Lead",
        "metadata": {"name": "python-lead"},
        "spec": {
            "name": "Ada",
            "email": "ada@example.com",
            "consent": True,
            "code": "PY-1",
            "submittedAt": "2026-11-29T14:00:00Z",
            "favouriteColour": "green",
        },
    }
    group, version, plural = "conferenceli.dev", "v1alpha1", "leads"
    created = custom.create_namespaced_custom_object(group, version, namespace, plural, lead)
    say("create", spec=created["spec"], status=created.get("status"))
    patched = custom.patch_namespaced_custom_object_status(
        group, version, namespace, plural, "python-lead", {"status": {"syncState": "Synced", "odooId": 7}}
    )
    say("patchStatus", status=patched["status"])
    again = custom.get_namespaced_custom_object(group, version, namespace, plural, "python-lead")
    say("get", status=again["status"])
    deleted = custom.delete_namespaced_custom_object(group, version, namespace, plural, "python-lead")
    say("delete", kind=deleted.get("kind"), status=deleted.get("status"))
    try:
        custom.get_namespaced_custom_object(group, version, namespace, plural, "python-lead")
        say("gone", code=200)
    except client.exceptions.ApiException as error:
        say("gone", code=error.status, reason=json.loads(error.body)["reason"])

    record(api_client, core, namespace, names[0])
    evict(api_client, core, namespace, names)


def record(api_client, core, namespace, pod):
    """An Event written through events.k8s.io/v1 is a core v1 Event, under the core names."""
    events = client.EventsV1Api(api_client)
    event = client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="python-event"),
        event_time=datetime.datetime.now(datetime.timezone.utc),
        regarding=client.V1ObjectReference(kind="Pod", name=pod, namespace=namespace),
        note="recorded from Python",
        reason="PythonSaysHello",
        type="Normal",
        action="Greeting",
        reporting_controller="python-client",
        reporting_instance="python-client-1",
    )
    created = events.create_namespaced_event(namespace, event)
    found = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod},reason=PythonSaysHello")
    same = found.items[0]
    say(
        "events",
        found=len(found.items),
        message=same.message,
        reportingComponent=same.reporting_component,
        sameVersion=same.metadata.resource_version == created.metadata.resource_version,
    )


def evict(api_client, core, namespace, names):
    """A budget of 4 of the 5 pods: one eviction goes, the next is refused (429)."""
    policy = client.PolicyV1Api(api_client)
    selector = client.V1LabelSelector(match_labels={"app": "critical-prod"})
    budget = client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="python-budget"),
        spec=client.V1PodDisruptionBudgetSpec(min_available=4, selector=selector),
    )
    policy.create_namespaced_pod_disruption_budget(namespace, budget)
    deadline = time.time() + 20
    while True:
        status = policy.read_namespaced_pod_disruption_budget("python-budget", namespace).status
        if status.observed_generation == 1 and status.disruptions_allowed == 1:
            break
        if time.time() > deadline:
            raise RuntimeError(f"the budget never allowed a disruption: {status}")
        time.sleep(0.1)
    say("budget", current=status.current_healthy, desired=status.desired_healthy, expected=status.expected_pods)

    first, second = names[3], names[4]
    core.create_namespaced_pod_eviction(first, namespace, client.V1Eviction(metadata=client.V1ObjectMeta(name=first)))
    evicted = core.read_namespaced_pod(first, namespace)
    conditions = [c.type for c in evicted.status.conditions or []]
    say("evict", pod=first, deleting=evicted.metadata.deletion_timestamp is not None, conditions=conditions)
    try:
        core.create_namespaced_pod_eviction(second, namespace, client.V1Eviction(metadata=client.V1ObjectMeta(name=second)))
        say("refused", code=201)
    except client.exceptions.ApiException as error:
        body = json.loads(error.body)
        say("refused", code=error.status, reason=body["reason"], message=body["message"], cause=body["details"]["causes"][0])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
