// Unit tests for the informer cache: watch events, relist diffs (no duplicate events), secondary
// indexes, the managedFields transform, and handlers seeing the cache already updated.
#include "ckpt/kube/store.h"

#include <gtest/gtest.h>

namespace ckpt::kube {
namespace {

Json Obj(const std::string& name, const std::string& rv, const std::string& store = "s1") {
  return {{"metadata",
           {{"name", name},
            {"namespace", "ml"},
            {"resourceVersion", rv},
            {"managedFields", Json::array({{{"manager", "kubectl"}}})}}},
          {"spec", {{"checkpointStore", store}}}};
}

std::map<std::string, IndexFunc> ByStore() {
  return {{"store", [](const Json& o) { return std::vector<std::string>{o["spec"].value("checkpointStore", "")}; }}};
}

std::vector<std::string> Describe(const std::vector<ObjectEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    std::string t = e.type == ObjectEvent::Type::kAdded ? "add" : e.type == ObjectEvent::Type::kUpdated ? "update" : "delete";
    out.push_back(t + ":" + (*e.object)["metadata"]["name"].get<std::string>());
  }
  return out;
}

TEST(StoreTest, WatchEventsUpdateCacheAndIndexes) {
  Writer w(ByStore());
  Store s = w.store();
  w.Apply({WatchEvent::Type::kAdded, Obj("a", "1")});
  w.Apply({WatchEvent::Type::kAdded, Obj("b", "2")});
  w.Apply({WatchEvent::Type::kModified, Obj("b", "3", "s2")});
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.ByIndex("store", "s1").size(), 1u);
  EXPECT_EQ(s.ByIndex("store", "s2").size(), 1u);
  EXPECT_FALSE(s.Get("ml/a")->at("metadata").contains("managedFields")) << "transform strips managedFields";
  w.Apply({WatchEvent::Type::kDeleted, Obj("b", "4", "s2")});
  EXPECT_EQ(s.Get("ml/b"), nullptr);
  EXPECT_TRUE(s.ByIndex("store", "s2").empty());
  EXPECT_TRUE(s.ByIndex("nope", "x").empty());
}

TEST(StoreTest, RelistReportsOnlyDifferences) {
  Writer w;
  std::vector<ObjectEvent> events;
  w.AddHandler([&](const ObjectEvent& e) { events.push_back(e); });
  std::vector<Json> first{Obj("a", "1"), Obj("b", "2"), Obj("c", "3")};
  w.Replace(std::move(first));
  EXPECT_TRUE(w.store().ready());
  EXPECT_EQ(events.size(), 3u);
  events.clear();
  std::vector<Json> second{Obj("a", "1"), Obj("b", "5"), Obj("d", "6")};  // a same, b changed, c gone, d new
  w.Replace(std::move(second));
  auto got = Describe(events);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"add:d", "delete:c", "update:b"}));
  EXPECT_EQ(w.store().size(), 3u);
}

Json InNamespace(Json obj, const std::string& ns) {
  obj["metadata"]["namespace"] = ns;
  return obj;
}

TEST(StoreTest, ScopedRelistsReplaceOnlyTheirNamespaceAndReadyWaitsForAll) {
  Writer w;
  w.ExpectScopes({"ml", "research"});
  std::vector<Json> ml{Obj("a", "1"), Obj("b", "2")};
  w.Replace(std::move(ml), "ml");
  EXPECT_FALSE(w.store().ready()) << "research has not listed yet";
  std::vector<Json> research{InNamespace(Obj("x", "3"), "research")};
  w.Replace(std::move(research), "research");
  EXPECT_TRUE(w.store().ready());
  std::vector<Json> relist{Obj("a", "1")};  // ml relists without b; research's x must survive
  w.Replace(std::move(relist), "ml");
  EXPECT_EQ(w.store().size(), 2u);
  EXPECT_TRUE(w.store().Get("research/x"));
  EXPECT_FALSE(w.store().Get("ml/b"));
}

TEST(StoreTest, HandlersSeeTheCacheAlreadyUpdated) {
  Writer w;
  Store s = w.store();
  bool seen = false;
  w.AddHandler([&](const ObjectEvent& e) { seen = s.Get(KeyOf(*e.object)) != nullptr; });
  w.Apply({WatchEvent::Type::kAdded, Obj("a", "1")});
  EXPECT_TRUE(seen);
}

TEST(StoreTest, DeleteOfUnknownObjectIsSilent) {
  Writer w;
  int n = 0;
  w.AddHandler([&](const ObjectEvent&) { ++n; });
  w.Apply({WatchEvent::Type::kDeleted, Obj("ghost", "9")});
  w.Apply({WatchEvent::Type::kBookmark, Obj("", "10")});
  EXPECT_EQ(n, 0);
}

TEST(StoreTest, KeysForNamespacedAndClusterScoped) {
  EXPECT_EQ(KeyOf("ml", "a"), "ml/a");
  EXPECT_EQ(KeyOf("", "pv-1"), "pv-1");
  EXPECT_EQ(KeyOf(Json{{"metadata", {{"name", "pv-1"}}}}), "pv-1");
}

}  // namespace
}  // namespace ckpt::kube
