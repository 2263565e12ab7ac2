//! krtwin: ckpt-operator's footprint twin on kube-rs, for bench/footprint/run.sh. Two controllers
//! over dynamic objects, shaped like the daemon's: checkpointstore (owns label-selected PVCs,
//! watches TrainRuns) and trainrun (owns label-selected TrainJobs, watches CheckpointStores and
//! ClusterTrainingRuntimes). Reconcilers do nothing. kube-rs has no leader election, so the twin
//! simply runs; as is idiomatic in kube-rs, only each controller's primary kind is cached (owned
//! and watched kinds only trigger). It prints "synced" once every primary object has been seen by
//! its reconciler ($EXPECT of them).
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::Client;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

#[derive(Debug)]
struct Never;
impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "never")
    }
}
impl std::error::Error for Never {}

struct Seen {
    keys: Mutex<HashSet<String>>,
    expect: usize,
}

async fn reconcile(obj: Arc<DynamicObject>, seen: Arc<Seen>) -> Result<Action, Never> {
    let key = format!("{:?}/{:?}/{:?}", obj.types, obj.metadata.namespace, obj.metadata.name);
    let mut keys = seen.keys.lock().unwrap();
    if keys.insert(key) && keys.len() == seen.expect {
        println!("synced");
    }
    Ok(Action::await_change())
}

fn error_policy(_: Arc<DynamicObject>, _: &Never, _: Arc<Seen>) -> Action {
    Action::await_change()
}

fn nothing(_: DynamicObject) -> Option<ObjectRef<DynamicObject>> {
    None
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::try_default().await?;
    let store = resource("trainops.io", "v1alpha1", "CheckpointStore", "checkpointstores");
    let run = resource("trainops.io", "v1alpha1", "TrainRun", "trainruns");
    let claim = resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims");
    let job = resource("trainer.kubeflow.org", "v1alpha1", "TrainJob", "trainjobs");
    let runtime = resource("trainer.kubeflow.org", "v1alpha1", "ClusterTrainingRuntime", "clustertrainingruntimes");
    let api = |r: &ApiResource| Api::<DynamicObject>::all_with(client.clone(), r);
    let all = watcher::Config::default;
    let expect: usize = std::env::var("EXPECT").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if expect == 0 {
        println!("synced");
    }
    let seen = Arc::new(Seen { keys: Mutex::new(HashSet::new()), expect });
    let stores = Controller::new_with(api(&store), all(), store.clone())
        .owns_with(api(&claim), claim.clone(), all().labels("trainops.io/checkpointstore"))
        .watches_with(api(&run), run.clone(), all(), nothing)
        .run(reconcile, error_policy, seen.clone())
        .for_each(|_| async {});
    let runs = Controller::new_with(api(&run), all(), run.clone())
        .owns_with(api(&job), job.clone(), all().labels("trainops.io/trainrun"))
        .watches_with(api(&store), store.clone(), all(), nothing)
        .watches_with(api(&runtime), runtime.clone(), all(), nothing)
        .run(reconcile, error_policy, seen)
        .for_each(|_| async {});
    futures::join!(stores, runs);
    Ok(())
}
