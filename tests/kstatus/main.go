// kstatus-judge: prints what sigs.k8s.io/cli-utils/pkg/kstatus/status (the library Flux, kpt
// and `kubectl wait`-style tooling use to judge custom resources) computes for each object of a
// JSON array read from the file named by the first argument (or stdin): a JSON array of {"kind", "name", "phase", "status", "message"}. The
// integration tests feed it CheckpointStores and TrainRuns captured in each phase, so the
// operator's status conventions are checked by the real library, not by our reading of it.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Phase   string `json:"phase"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	in := os.Stdin
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus-judge:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	var raw []json.RawMessage
	if err := json.NewDecoder(in).Decode(&raw); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus-judge: input is not a JSON array:", err)
		os.Exit(2)
	}
	out := make([]verdict, 0, len(raw))
	for _, r := range raw {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(r); err != nil { // keeps integers as int64, as kstatus expects
			fmt.Fprintln(os.Stderr, "kstatus-judge: not a Kubernetes object:", err)
			os.Exit(2)
		}
		res, err := status.Compute(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus-judge:", u.GetName(), err)
			os.Exit(1)
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		out = append(out, verdict{u.GetKind(), u.GetName(), phase, res.Status.String(), res.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
