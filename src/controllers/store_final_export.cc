// The final export before a linked store's file system is deleted (policy Delete): one
// EXPORT_TO_REPOSITORY data repository task over the associations that export to S3, so whatever
// automatic export had not yet written (or could not) reaches S3 before the file system goes.
// AWS: "Automatic export and export data repository tasks cannot run at the same time"
// (LustreGuide/export-changed-data-meta-dra.html), and before deleting, "If you have automatic
// export enabled and want to use an export data repository task, you have to disable automatic
// export before executing the export data repository task" (LustreGuide/delete-file-system.html).
// Of the two documented ways (that, or waiting for the AgeOfOldestQueuedMessage metric to reach
// zero, which needs CloudWatch) the operator takes the first: it plans the task while the
// associations still say what they export (status.finalExport.paths), pauses automatic export
// (store_auto_export.cc), waits until every association is AVAILABLE again, and only then starts
// the task. Whenever the file system stays after all (FSx refuses the task or the delete, the
// task fails), automatic export is switched back on, so a store that stays keeps exporting.
// The task is recorded in status.finalExport (attempt, taskId, lifecycle) as soon as FSx accepts
// it; its ClientRequestToken is derived from the store's UID and the attempt, so a crash between
// create and record finds the same task again. FSx runs one task per file system at a time
// (DataRepositoryTaskExecuting: wait), and refuses to delete a file system while a task is
// PENDING or EXECUTING (APIReference/API_DataRepositoryTask.html), so nothing is deleted until the
// task SUCCEEDED. A FAILED or CANCELED task stops the deletion: Ready=False (FinalExportFailed)
// with FSx's failure details and the report location, one Warning Event, and a new attempt after
// the refusal-retry interval; spec.dataRepository.finalExport: false skips the export.
#include "ckpt/common/encoding.h"
#include <algorithm>

#include "controllers/checkpoint_layout.h"
#include "controllers/fsx_cache.h"
#include "controllers/store_context.h"

namespace ckpt::controllers {
namespace {

// The file-system path of the store's checkpoint association (the final export's report goes to
// its S3 prefix); /checkpoints when the store has none.
std::string CheckpointPath(const Json& spec) {
  const Json associations = spec.value("/dataRepository/associations"_json_pointer, Json::array());
  const Json* home = CheckpointAssociation(associations);
  return home ? home->value("path", "/checkpoints") : "/checkpoints";
}

// A new attempt's record: the plan and what automatic export was paused on carry over.
Json NextAttempt(const Json& record) {
  Json next = {{"attempt", record.value("attempt", 1) + 1}};
  for (const char* k : {"paths", "reportPath", "autoExportPaused"})
    if (record.contains(k)) next[k] = record[k];
  return next;
}

std::string PausedPaths(const Json& record) {
  std::string out;
  for (const auto& p : record.value("autoExportPaused", Json::array()))
    out += (out.empty() ? "" : ", ") + (p.is_object() ? p.value("path", "") : p.get<std::string>());
  return out;
}


std::string FailureMessage(const Json& task, const std::string& retry_at) {
  const std::string id = task.value("TaskId", "");
  std::string m = "final export task " + id + " " + task.value("Lifecycle", "") + ": " +
                  task.value("/FailureDetails/Message"_json_pointer, std::string("no details from FSx"));
  if (task.contains("/Status/FailedCount"_json_pointer))
    m += " (" + std::to_string(task["Status"].value("FailedCount", 0)) + " of " +
         std::to_string(task["Status"].value("TotalCount", 0)) + " files failed)";
  const std::string report = task.value("/Report/Path"_json_pointer, std::string());
  if (!report.empty()) m += "; report: " + report + (report.ends_with("/") ? "" : "/") + "task-" + id + "/failures.csv";
  return m + ". Nothing was deleted; the export is retried after " + retry_at +
         ", or set spec.dataRepository.finalExport: false to delete without it.";
}

}  // namespace

StatusOr<CheckpointStoreReconciler::ExportState> CheckpointStoreReconciler::FinalExport(
    Ctx& c, const std::string& fs_id, const std::vector<Json>& associations) {
  if (!c.store.value("/spec/dataRepository/finalExport"_json_pointer, true)) return ExportState::kDone;
  Json& record = c.status["finalExport"];
  if (!record.is_object()) record = Json::object();
  if (!record.value("taskId", "").empty()) {
    auto tasks = fsx_.DescribeDataRepositoryTasks({{"TaskIds", {record["taskId"]}}});
    if (tasks.status().IsNotFound() || (tasks.ok() && tasks->empty())) {  // gone from FSx: start over
      record = NextAttempt(record);
      c.in_flight = true;
      return ExportState::kWaiting;
    }
    RETURN_IF_ERROR(tasks.status());
    const Json task = tasks->front();
    const std::string lifecycle = task.value("Lifecycle", "");
    record["lifecycle"] = lifecycle;
    if (lifecycle == "SUCCEEDED") return ExportState::kDone;
    if (TaskRunning(lifecycle)) {
      c.Summarize(Health::kInProgress, "FinalExportRunning",
                  "final export task " + task.value("TaskId", "") + " is " + lifecycle + "; the file system " + fs_id +
                      " is deleted once it succeeds");
      c.in_flight = true;
      return ExportState::kWaiting;
    }
    return ExportFailed(c, task);
  }
  return StartFinalExport(c, fs_id, associations);
}

// No task yet: the plan while the associations still export, then automatic export paused on
// every one of them, then (once they are all AVAILABLE) the task, recorded at once.
StatusOr<CheckpointStoreReconciler::ExportState> CheckpointStoreReconciler::StartFinalExport(
    Ctx& c, const std::string& fs_id, const std::vector<Json>& associations) {
  Json& record = c.status["finalExport"];
  if (!record.contains("paths")) {
    std::optional<FinalExportPlan> plan = PlanFinalExport(associations, CheckpointPath(c.store["spec"]));
    if (!plan) return ExportState::kDone;  // nothing exports to S3
    record["paths"] = plan->paths;
    record["reportPath"] = plan->report_path;
  }
  ASSIGN_OR_RETURN(bool settled, PauseAutoExport(c, fs_id, associations));
  if (!settled) {
    if (c.refused) return ExportState::kWaiting;  // Finalize reports it and backs off
    c.Summarize(Health::kInProgress, "PausingAutomaticExport",
                "pausing automatic export on " + PausedPaths(record) + ": FSx runs the final export "
                "task only while automatic export is off");
    c.in_flight = true;
    return ExportState::kWaiting;
  }
  const int attempt = record.value("attempt", 1);
  const FinalExportPlan plan{record["paths"], record.value("reportPath", "")};
  auto created = fsx_.CreateDataRepositoryTask(
      FinalExportRequest(fs_id, plan, c.uid, "exp-" + HexEncode(Sha256(c.uid + "/" + std::to_string(attempt))).substr(0, 40)));
  if (created.status().reason() == "DataRepositoryTaskExecuting") {  // another task runs: FSx takes one at a time
    c.Summarize(Health::kInProgress, "WaitingForAnotherTask",
                "another data repository task runs on " + fs_id + "; FSx runs one at a time, so the final export "
                "starts after it");
    c.in_flight = true;
    return ExportState::kWaiting;
  }
  if (!created.ok()) {
    RETURN_IF_ERROR(Refuse(c, "Ready", created.status()));
    RETURN_IF_ERROR(RestoreAutoExport(c, fs_id).status());
    return ExportState::kWaiting;
  }
  record["taskId"] = (*created)["TaskId"];
  record["lifecycle"] = (*created)["Lifecycle"];
  record["attempt"] = attempt;
  c.Summarize(Health::kInProgress, "FinalExportRunning",
              "final export task " + (*created).value("TaskId", "") + " started; the file system " + fs_id +
                  " is deleted once it succeeds");
  events_.Event(c.store, "Normal", "FinalExportStarted", "Delete",
                "exporting " + Joined(plan.paths) + " to S3 with task " + (*created).value("TaskId", "") +
                    " before deleting " + fs_id);
  c.in_flight = true;
  RETURN_IF_ERROR(WriteStatus(c));  // record the task at once
  return ExportState::kWaiting;
}

// A FAILED or CANCELED export: reported once (and automatic export switched back on meanwhile),
// then a new attempt, which pauses it again, once retryAfter has passed.
StatusOr<CheckpointStoreReconciler::ExportState> CheckpointStoreReconciler::ExportFailed(Ctx& c, const Json& task) {
  Json& record = c.status["finalExport"];
  if (!record.contains("retryAfter")) {
    record["retryAfter"] = FormatRfc3339(clock_.Now() + options_.refusal_retry);
    std::string message = FailureMessage(task, record["retryAfter"]);
    c.Summarize(Health::kStalled, "FinalExportFailed", message);
    events_.Event(c.store, "Warning", "FinalExportFailed", "Delete", message);
    RETURN_IF_ERROR(RestoreAutoExport(c, task.value("FileSystemId", "")).status());  // exporting while it waits
  }
  if (c.now < record.value("retryAfter", "")) {  // RFC 3339 in UTC: ordered as text
    RETURN_IF_ERROR(RestoreAutoExport(c, task.value("FileSystemId", "")).status());  // one still UPDATING at first
    c.refused = true;
    return ExportState::kWaiting;
  }
  record = NextAttempt(record);  // the next reconcile starts a new task
  c.in_flight = true;
  return ExportState::kWaiting;
}

}  // namespace ckpt::controllers
