// The emulator's data repository tasks (part of FsxService, see fsx_service.h), following AWS's
// documentation of the DataRepositoryTask API (APIReference/API_DataRepositoryTask.html,
// API_CreateDataRepositoryTask.html, API_CancelDataRepositoryTask.html) and the FSx for Lustre
// guide (LustreGuide/data-repo-task-status.html):
//   - lifecycle PENDING -> EXECUTING -> SUCCEEDED or FAILED (FailureDetails, a failed count);
//     CancelDataRepositoryTask moves a PENDING or EXECUTING task to CANCELING -> CANCELED, and an
//     ended task answers DataRepositoryTaskEnded;
//   - one task at a time per file system: a second one answers DataRepositoryTaskExecuting;
//   - an export runs over linked paths only: "If a path that you provide isn't valid, the task
//     fails", and a file system with no data repository association has nothing to export to;
//   - DescribeDataRepositoryTasks filters by file-system-id and task-lifecycle.
#include <algorithm>

#include "emulator/fsx_service.h"

namespace ckpt::emulator {
namespace {


// Whether `path` lies in the association at `link_path` (or is it).
bool Covers(const std::string& link_path, const std::string& path) {
  return link_path == "/" || path == link_path || path.starts_with(link_path + "/");
}

}  // namespace

bool FsxService::TaskActiveLocked(const std::string& fs_id) const {
  return std::any_of(tasks_.begin(), tasks_.end(), [&](const auto& t) {
    const std::string lc = t.second.desc.value("Lifecycle", "");
    return t.second.desc.value("FileSystemId", "") == fs_id && (lc == "PENDING" || lc == "EXECUTING");
  });
}

std::vector<Json> FsxService::LinksLocked(const std::string& fs_id) const {
  std::vector<Json> links;
  for (const auto& [id, a] : associations_)
    if (a.desc.value("FileSystemId", "") == fs_id && a.desc.value("Lifecycle", "") != "DELETING") links.push_back(a.desc);
  return links;
}

Json FsxService::TaskOutcomeLocked(const Json& paths, const std::vector<Json>& links) const {
  const int total = 1000;  // files the emulated export processes
  auto failed = [&](const std::string& message, int failed_files) {
    return Json{{"Lifecycle", "FAILED"}, {"FailureDetails", {{"Message", message}}},
                {"Status", {{"TotalCount", total}, {"SucceededCount", total - failed_files}, {"FailedCount", failed_files}}}};
  };
  if (links.empty()) return failed("The file system is not linked to a data repository.", 0);
  for (const auto& p : paths) {
    std::string path = p.get<std::string>();  // relative to the file system's root, as the API takes it
    if (!path.starts_with("/")) path = path == "." ? "/" : "/" + path;
    bool linked = std::any_of(links.begin(), links.end(),
                              [&](const Json& a) { return Covers(a.value("FileSystemPath", "/"), path); });
    if (!linked) return failed("Path " + path + " is not within a data repository association.", 0);
  }
  if (fail_tasks_) return failed("Export failed for 3 files: access denied to the S3 bucket (emulated fault).", 3);
  return Json{{"Lifecycle", "SUCCEEDED"}, {"Status", {{"TotalCount", total}, {"SucceededCount", total}, {"FailedCount", 0}}}};
}

StatusOr<Json> FsxService::CreateTask(const Json& r) {
  ASSIGN_OR_RETURN(auto fs, FileSystemLocked(r.value("FileSystemId", "")));
  bool replay = r.contains("ClientRequestToken") && tokens_.count(r["ClientRequestToken"]);
  if (!replay && TaskActiveLocked(fs->first))
    return FsxError("DataRepositoryTaskExecuting", "An existing data repository task is currently executing on file "
                                                   "system " + fs->first + ". Wait until it has completed.");
  // "Automatic export and export data repository tasks cannot run at the same time."
  // (LustreGuide/export-changed-data-meta-dra.html); "If you have automatic export enabled and
  // want to use an export data repository task, you have to disable automatic export before
  // executing the export data repository task." (LustreGuide/delete-file-system.html). AWS
  // documents no error code for it: BadRequest, the generic client error in the operation's
  // error list, is the emulator's choice.
  if (!replay && r.value("Type", "") == "EXPORT_TO_REPOSITORY")
    for (const auto& link : LinksLocked(fs->first))
      if (!link.value("/S3/AutoExportPolicy/Events"_json_pointer, Json::array()).empty())
        return FsxError("BadRequest", "Automatic export and export data repository tasks cannot run at the same time: "
                                      "association " + link.value("AssociationId", "") + " (" +
                                      link.value("FileSystemPath", "") + ") exports automatically. Disable automatic "
                                      "export before running an export data repository task.");
  ASSIGN_OR_RETURN(Json out, IdempotentLocked("CreateDataRepositoryTask", r, [&]() -> StatusOr<Json> {
    std::string id = NewId("task");
    Resource t;
    t.desc = r;
    t.desc.erase("ClientRequestToken");
    t.desc["TaskId"] = id;
    t.desc["CreationTime"] = EpochSeconds(clock_.Now());
    t.desc["ResourceARN"] = "arn:aws:fsx:" + region_ + ":" + account_ + ":task/" + id;
    Json end = TaskOutcomeLocked(r.value("Paths", Json::array()), LinksLocked(fs->first));
    t.then = end["Lifecycle"];
    end.erase("Lifecycle");
    end["EndTime"] = EpochSeconds(clock_.Now() + times_.task);
    t.then_fields = std::move(end);
    t.then_after = times_.task;
    StartLocked(t, "PENDING", "EXECUTING", times_.task / 4);
    return Insert(tasks_, id, std::move(t));
  }));
  return Json{{"DataRepositoryTask", out["Resource"]}};
}

StatusOr<Json> FsxService::DescribeTasks(const Json& r) {
  for (const auto& id : r.value("TaskIds", Json::array()))
    if (!tasks_.count(id.get<std::string>()))
      return FsxError("DataRepositoryTaskNotFound", "Data repository task '" + id.get<std::string>() + "' does not exist.");
  return Matching(tasks_, r, "TaskIds", "DataRepositoryTasks");
}

StatusOr<Json> FsxService::CancelTask(const Json& r) {
  const std::string id = r.value("TaskId", "");
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return FsxError("DataRepositoryTaskNotFound", "Data repository task '" + id + "' does not exist.");
  Resource& t = it->second;
  const std::string lc = t.desc.value("Lifecycle", "");
  if (lc != "PENDING" && lc != "EXECUTING")
    return FsxError("DataRepositoryTaskEnded", "Data repository task " + id + " has already ended (" + lc + ").");
  t.then.clear();
  t.then_fields = {{"EndTime", EpochSeconds(clock_.Now())}};
  StartLocked(t, "CANCELING", "CANCELED", times_.task / 4);
  return Json{{"Lifecycle", "CANCELING"}, {"TaskId", id}};
}

}  // namespace ckpt::emulator
