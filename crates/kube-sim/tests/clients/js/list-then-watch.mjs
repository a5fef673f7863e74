// The official Kubernetes JavaScript client (@kubernetes/client-node) against the simulated API,
// driven by tests/it/clients.rs: a list, then a watch from the list's resourceVersion, which
// must see a pod deleted by a second request and nothing from before the list. One JSON line per
// step on stdout; any failure exits non-zero.
import * as k8s from '@kubernetes/client-node';

const [server, namespace] = process.argv.slice(2);
const say = (step, fields) => console.log(JSON.stringify({ step, ...fields }));

const kc = new k8s.KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'sim', server, skipTLSVerify: true }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'sim', cluster: 'sim', user: 'u' }],
  currentContext: 'sim',
});
const core = kc.makeApiClient(k8s.CoreV1Api);

const list = await core.listNamespacedPod({ namespace });
const names = list.items.map((p) => p.metadata.name).sort();
say('list', { names, resourceVersion: list.metadata.resourceVersion });

const victim = names[0];
const events = [];
const done = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no DELETED event within 15 s: ${JSON.stringify(events)}`)), 15000);
  new k8s.Watch(kc)
    .watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (type, obj) => {
        events.push([type, obj.metadata?.name ?? '']);
        if (type === 'DELETED' && obj.metadata.name === victim) {
          clearTimeout(timer);
          resolve();
        }
      },
      (err) => {
        if (err) reject(err);
      },
    )
    .then((request) => {
      done.finally(() => request.abort());
      return core.deleteNamespacedPod({ name: victim, namespace, gracePeriodSeconds: 0 });
    })
    .catch(reject);
});
await done;
say('watch', { deleted: victim, events });
process.exit(0);
