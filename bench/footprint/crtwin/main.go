// crtwin: ckpt-operator's footprint twin on controller-runtime, for bench/footprint/run.sh. It
// watches what the daemon watches, with the same shape: two controllers (checkpointstore,
// trainrun) over CheckpointStores, TrainRuns, label-selected PVCs and TrainJobs, and
// ClusterTrainingRuntimes, all as unstructured objects (the daemon has no generated types
// either). Reconcilers do nothing, so what is measured is the runtime and its caches. With leader
// election on and the lease held elsewhere it is a warm standby, as a ckpt-operator follower is:
// its informers are requested up front so they run before leadership too. It prints "synced" once
// every cache has listed.
package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func object(apiVersion, kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u
}

func hasLabel(key string) labels.Selector {
	r, err := labels.NewRequirement(key, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*r)
}

func main() {
	store := object("trainops.io/v1alpha1", "CheckpointStore")
	run := object("trainops.io/v1alpha1", "TrainRun")
	claim := object("v1", "PersistentVolumeClaim")
	job := object("trainer.kubeflow.org/v1alpha1", "TrainJob")
	runtime := object("trainer.kubeflow.org/v1alpha1", "ClusterTrainingRuntime")
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		LeaderElection:          os.Getenv("LEASE_NAME") != "",
		LeaderElectionID:        os.Getenv("LEASE_NAME"),
		LeaderElectionNamespace: "default",
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			claim: {Label: hasLabel("trainops.io/checkpointstore")},
			job:   {Label: hasLabel("trainops.io/trainrun")},
		}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	noop := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, nil })
	mapped := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request { return nil })
	must(ctrl.NewControllerManagedBy(mgr).Named("checkpointstore").For(store).Owns(claim).Watches(run, mapped).Complete(noop))
	must(ctrl.NewControllerManagedBy(mgr).Named("trainrun").For(run).Owns(job).Watches(store, mapped).Watches(runtime, mapped).Complete(noop))
	ctx := ctrl.SetupSignalHandler()
	for _, o := range []client.Object{store, run, claim, job, runtime} {
		_, err := mgr.GetCache().GetInformer(ctx, o)
		must(err)
	}
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			fmt.Println("synced")
		}
	}()
	must(mgr.Start(ctx))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
