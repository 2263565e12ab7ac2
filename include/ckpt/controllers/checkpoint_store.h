// CheckpointStoreReconciler: drives one CheckpointStore toward its spec. Observe (the store from
// the cache, FSx and associations through the shared FsxCache view, the PVC) -> plan (controllers/
// store_plan.h, pure) -> apply (FSx calls, server-side apply of PV/PVC, one status patch).
//   - Finalizer first, so no file system is ever created that deletion would not find.
//   - Create is crash-safe: a file system tagged with the store's UID is adopted before any
//     create, and CreateFileSystem carries a ClientRequestToken derived from the UID.
//   - FSx refusals become conditions and Warning Events with FSx's own message, retried slowly;
//     throttling goes back to the queue's backoff.
//   - Deletion follows spec.deletionPolicy (Retain | Delete | Snapshot) and waits while a
//     TrainRun that has not finished uses the store.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/kube/store.h"
#include "ckpt/runtime/events.h"
#include "ckpt/runtime/reconciler.h"

namespace ckpt::controllers {

class FsxCache;
class ErrorStreaks;
struct AssociationPlan;
struct AssociationOwnership;

struct CheckpointStoreOptions {
  std::chrono::milliseconds poll_interval{10'000};   // while a lifecycle is in flight
  std::chrono::milliseconds resync_interval{600'000};  // steady state
  std::chrono::milliseconds refusal_retry{300'000};   // after FSx refused a change
};

inline constexpr char kStoreFinalizer[] = "trainops.io/checkpointstore";
inline constexpr char kTrainRunsByStore[] = "by-store";
// On the PV and PVC a store owns (value: the store's name), so a cache can select just those.
inline constexpr char kStoreLabel[] = "trainops.io/checkpointstore";
// On the PV (cluster-scoped): the store's namespace, so the PV maps back to its store.
inline constexpr char kStoreNamespaceLabel[] = "trainops.io/namespace";

// Index function: TrainRun -> "<namespace>/<spec.checkpointStore>".
std::vector<std::string> TrainRunStoreKey(const kube::Json& trainrun);
// Handler mapping: TrainRun -> its store's key, but only while that store is being deleted, the one
// time a store depends on its runs (deletion waits for them). Run updates never cost FSx calls.
std::function<std::vector<std::string>(const kube::Json&)> DeletingStoreOf(kube::Store stores);

// Handler mapping: a store's PV (cluster-scoped, so no owner reference) -> the store's key.
std::vector<std::string> StoreOfVolume(const kube::Json& pv);

// The informer caches a CheckpointStoreReconciler reads.
struct CheckpointStoreCaches {
  kube::Store stores;     // CheckpointStores
  kube::Store trainruns;  // TrainRuns indexed kTrainRunsByStore
  kube::Store claims;     // PVCs labelled kStoreLabel
  kube::Store volumes;    // PVs labelled kStoreLabel
};

class CheckpointStoreReconciler final : public runtime::Reconciler {
 public:
  CheckpointStoreReconciler(kube::KubeClient& client, CheckpointStoreCaches caches, aws::FsxClient& fsx,
                            FsxCache& fsx_cache, runtime::EventRecorder& events, Clock& clock,
                            CheckpointStoreOptions options = {});

  StatusOr<runtime::Action> Reconcile(const std::string& key) override;

 private:
  struct Ctx;
  StatusOr<runtime::Action> Converge(Ctx& c);
  StatusOr<runtime::Action> Finalize(Ctx& c);
  Status EnsureFinalizer(const kube::Json& store);
  Status RemoveFinalizer(const kube::Json& store);
  StatusOr<std::optional<kube::Json>> ResolveFileSystem(Ctx& c);
  Status ConvergeSettings(Ctx& c, const kube::Json& fs);
  Status ConvergeAssociations(Ctx& c, const kube::Json& fs);
  Status ApplyAssociationPlan(Ctx& c, const std::string& fs_id, AssociationPlan& plan,
                              std::map<std::string, std::string>& done);
  Status MarkReleased(Ctx& c, const std::string& fs_id);
  Status AbandonFinalExport(Ctx& c, const std::string& fs_id);
  void RecordAssociations(Ctx& c, const std::vector<kube::Json>& current, const AssociationOwnership& owner,
                          const std::set<std::string>& conflicts);
  Status ConvergeVolume(Ctx& c, const kube::Json& fs);
  Status CheckHolder(Ctx& c, const std::string& fs_id, const std::optional<kube::Json>& fs) const;
  StatusOr<bool> DeleteFileSystem(Ctx& c);
  Status RefuseDeletion(Ctx& c, const std::string& fs_id, const Status& refusal);
  enum class ExportState { kDone, kWaiting };  // kDone: succeeded, skipped or nothing to export
  StatusOr<ExportState> FinalExport(Ctx& c, const std::string& fs_id, const std::vector<kube::Json>& associations);
  StatusOr<ExportState> StartFinalExport(Ctx& c, const std::string& fs_id, const std::vector<kube::Json>& associations);
  StatusOr<bool> PauseAutoExport(Ctx& c, const std::string& fs_id, const std::vector<kube::Json>& associations);
  StatusOr<bool> RestoreAutoExport(Ctx& c, const std::string& fs_id);
  std::string BackOff(Ctx& c);
  std::chrono::milliseconds BackOffLeft(const Ctx& c) const;
  StatusOr<ExportState> ExportFailed(Ctx& c, const kube::Json& task);
  void SummarizeStore(Ctx& c, bool ready, bool has_fs);
  // Names of the TrainRuns that have not finished and use `store` (its deletion waits for them).
  std::vector<std::string> Users(const kube::Json& store) const;
  Status WriteStatus(Ctx& c);
  Status Refuse(Ctx& c, const std::string& condition, const Status& s);
  void ReportPersistentError(Ctx& c, const Status& error);

  StatusOr<kube::Json> EnsureClaim(Ctx& c, const kube::Json& fs);

  kube::KubeClient& client_;
  const CheckpointStoreCaches caches_;
  aws::FsxClient& fsx_;
  FsxCache& cache_;
  runtime::EventRecorder& events_;
  Clock& clock_;
  const CheckpointStoreOptions options_;
  const std::shared_ptr<ErrorStreaks> errors_;  // consecutive failed reconciles; thread-safe
};

}  // namespace ckpt::controllers
