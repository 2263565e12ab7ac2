// Unit tests for kubeconfig and in-cluster config loading from files the test writes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ckpt/common/encoding.h"
#include "ckpt/kube/config.h"

namespace ckpt::kube {
namespace {

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kcfg-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

constexpr char kTwoContexts[] = R"(apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.crt}
- name: cb
  cluster: {server: "https://b.example:443", certificate-authority-data: Q0FQRU0=, insecure-skip-tls-verify: true}
users:
- name: ua
  user: {token: secret-a}
- name: ub
  user: {client-certificate-data: Q0VSVA==, client-key: /abs/key.pem, tokenFile: tok}
contexts:
- name: a
  context: {cluster: ca, user: ua, namespace: ml}
- name: b
  context: {cluster: cb, user: ub}
)";

TEST_F(KubeconfigTest, CurrentContextWithRelativeCaFile) {
  auto c = LoadKubeconfig(Write("config", kTwoContexts));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->tls.ca_file, (dir_ / "ca.crt").string());
  EXPECT_EQ(c->bearer_token, "secret-a");
  EXPECT_EQ(c->default_namespace, "ml");
  EXPECT_FALSE(c->tls.insecure_skip_verify);
}

TEST_F(KubeconfigTest, NamedContextWithInlineDataAndTokenFile) {
  auto c = LoadKubeconfig(Write("config", kTwoContexts), "b");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tls.ca_pem, "CAPEM");
  EXPECT_EQ(c->tls.client_cert_pem, "CERT");
  EXPECT_EQ(c->tls.client_key_file, "/abs/key.pem");
  EXPECT_EQ(c->token_file, (dir_ / "tok").string());
  EXPECT_TRUE(c->tls.insecure_skip_verify);
  EXPECT_EQ(c->default_namespace, "default");
}

TEST_F(KubeconfigTest, ClearErrors) {
  EXPECT_TRUE(LoadKubeconfig(Write("config", kTwoContexts), "nope").status().IsNotFound());
  EXPECT_TRUE(LoadKubeconfig((dir_ / "missing").string()).status().IsNotFound());
  auto bad = LoadKubeconfig(Write("bad", "clusters: [unclosed"));
  EXPECT_TRUE(bad.status().IsInvalid());
  EXPECT_NE(bad.status().message().find("kubeconfig"), std::string::npos);
}

TEST_F(KubeconfigTest, InClusterReadsServiceAccountMount) {
  Write("namespace", "training");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto c = LoadInClusterConfig(dir_.string());
  unsetenv("KUBERNETES_SERVICE_HOST");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, (dir_ / "token").string());
  EXPECT_EQ(c->default_namespace, "training");
  EXPECT_TRUE(LoadInClusterConfig(dir_.string()).status().IsNotFound());
}

}  // namespace
}  // namespace ckpt::kube
