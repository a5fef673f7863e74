"""The official Kubernetes Python client against the simulated API (driven by tests/it/clients.rs).

Lists pods, watches them with the client's defaults (``watch=True``, no timeout) until a deletion
arrives, creates a Lead, patches its status, reads it back and deletes it. Prints one JSON line
per step; any exception fails the run with a traceback.
"""

import json
import sys
import threading

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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
