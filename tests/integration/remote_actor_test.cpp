// Service actors reached from another process through CAF's middleman: this test process plays
// the other service.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "images.hpp"
#include "pixhive/contracts/all.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/error.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::contracts;
using namespace pixhive::testing;

TEST(remote_actor, signup_verify_and_login_across_processes) {
  pixhive_server server({"--actor-port", "0", "--access-log", "false"}, "auth");
  ASSERT_NE(server.actor_port(), 0);

  caf::actor_system_config cfg;
  add_all_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto remote = sys.middleman().remote_actor<auth_actor>("127.0.0.1", server.actor_port());
  ASSERT_TRUE(remote) << sys.render(remote.error());
  caf::scoped_actor self{sys};
  auto timeout = std::chrono::seconds(30);

  user_view created;
  self->request(*remote, timeout,
                signup_request{"remote_rita", "rita@example.com", "correct horse battery"})
      .receive([&](user_view& u) { created = u; },
               [&](caf::error& e) { FAIL() << to_problem(e).message; });
  EXPECT_EQ(created.username, "remote_rita");
  EXPECT_FALSE(created.verified);

  // Errors travel as values across the wire, with their code and message intact.
  self->request(*remote, timeout,
                signup_request{"remote_rita", "other@example.com", "correct horse battery"})
      .receive([&](user_view&) { FAIL() << "duplicate signup accepted"; },
               [&](caf::error& e) {
                 auto p = to_problem(e);
                 EXPECT_EQ(p.kind, errc::conflict);
                 EXPECT_EQ(p.code, "username_taken");
               });

  auto code = latest_code(server.data_dir(), "rita@example.com");
  ASSERT_EQ(code.size(), 6u);
  self->request(*remote, timeout, verify_request{"remote_rita", code})
      .receive([&](user_view& u) { EXPECT_TRUE(u.verified); },
               [&](caf::error& e) { FAIL() << to_problem(e).message; });

  session_tokens tokens;
  self->request(*remote, timeout, login_request{"remote_rita", "correct horse battery"})
      .receive([&](session_tokens& t) { tokens = t; },
               [&](caf::error& e) { FAIL() << to_problem(e).message; });
  EXPECT_FALSE(tokens.access_token.empty());
  EXPECT_FALSE(tokens.refresh_token.empty());
  EXPECT_EQ(tokens.user.id, created.id);

  // The same account is visible over HTTP of the remote process.
  auto me = call(server.port(), bhttp::verb::get, "/api/v1/users/me", nullptr, tokens.access_token);
  EXPECT_EQ(me.status, 200) << me.body;
}

TEST(remote_actor, another_service_stores_variants_and_sets_status) {
  // `pixhive media` alone, as processing will reach it: through its published actor.
  pixhive_server server({"--actor-port", "0", "--access-log", "false"}, "media");
  ASSERT_NE(server.actor_port(), 0);
  caf::actor_system_config cfg;
  add_all_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto remote = sys.middleman().remote_actor<media_actor>("127.0.0.1", server.actor_port());
  ASSERT_TRUE(remote) << sys.render(remote.error());
  caf::scoped_actor self{sys};
  auto timeout = std::chrono::seconds(30);

  photo_view photo;
  self->request(*remote, timeout,
                upload_request{{42, "remote_rita", false}, make_bmp(6, 4), "#remote", "", "public"})
      .receive([&](photo_view& p) { photo = p; },
               [&](caf::error& e) { FAIL() << to_problem(e).message; });
  ASSERT_NE(photo.id, 0);
  EXPECT_EQ(photo.status, "processing");

  auto thumb = make_bmp(3, 2, '\x10');
  self->request(*remote, timeout, put_variant_request{photo.id, "thumb", thumb, "image/bmp", 3, 2})
      .receive([&](done&) {}, [&](caf::error& e) { FAIL() << to_problem(e).message; });
  self->request(*remote, timeout, set_status_request{photo.id, "ready", ""})
      .receive([&](done&) {}, [&](caf::error& e) { FAIL() << to_problem(e).message; });
  self->request(*remote, timeout, set_status_request{photo.id, "bogus", ""})
      .receive([&](done&) { FAIL() << "bad status accepted"; },
               [&](caf::error& e) { EXPECT_EQ(to_problem(e).code, "invalid_status"); });
  self->request(*remote, timeout,
                put_variant_request{photo.id, "../escape", thumb, "image/bmp", 3, 2})
      .receive([&](done&) { FAIL() << "bad variant name accepted"; },
               [&](caf::error& e) { EXPECT_EQ(to_problem(e).code, "invalid_variant"); });

  auto id = std::to_string(photo.id);
  auto meta = call(server.port(), bhttp::verb::get, "/api/v1/photos/" + id);
  ASSERT_EQ(meta.status, 200) << meta.body;
  EXPECT_EQ(meta.json()["status"], "ready");
  ASSERT_EQ(meta.json()["variants"].size(), 1u);
  EXPECT_EQ(meta.json()["variants"][0]["name"], "thumb");
  EXPECT_EQ(meta.json()["variants"][0]["width"], 3);
  auto bytes = call(server.port(), bhttp::verb::get, "/api/v1/photos/" + id + "/variants/thumb");
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.body, thumb);
  EXPECT_EQ(bytes.headers["Content-Type"], "image/bmp");
  EXPECT_EQ(bytes.headers["ETag"], "\"" + crypto::sha256_hex(thumb) + "\"");
  // Lists carry each photo's own variants (fetched for the whole page at once).
  photo_view second;
  self->request(*remote, timeout,
                upload_request{{42, "remote_rita", false}, make_bmp(2, 2), "", "", "public"})
      .receive([&](photo_view& p) { second = p; },
               [&](caf::error& e) { FAIL() << to_problem(e).message; });
  // Listed to anyone once ready (a processing photo is its owner's alone).
  self->request(*remote, timeout, set_status_request{second.id, "ready", ""})
      .receive([&](done&) {}, [&](caf::error& e) { FAIL() << to_problem(e).message; });
  auto list = call(server.port(), bhttp::verb::get, "/api/v1/users/remote_rita/photos").json();
  ASSERT_EQ(list["photos"].size(), 2u);
  EXPECT_EQ(list["photos"][0]["variants"].size(), 0u);
  ASSERT_EQ(list["photos"][1]["variants"].size(), 1u);
  EXPECT_EQ(list["photos"][1]["variants"][0]["name"], "thumb");
}

namespace {

/// Whether a process configured by `tls` (empty: plain BASP; else certificate, key and CA
/// file) reaches the actor published at `port` within a few seconds.
bool reaches(uint16_t port, const std::vector<std::string>& tls) {
  caf::actor_system_config cfg;
  add_all_types(cfg);
  cfg.load<caf::io::middleman>();
  if (!tls.empty()) {
    cfg.openssl_certificate = tls[0];
    cfg.openssl_key = tls[1];
    cfg.openssl_cafile = tls[2];
    cfg.load<caf::openssl::manager>();
  }
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto connector =
      tls.empty() ? sys.middleman().actor_handle() : sys.openssl_manager().actor_handle();
  bool reached = false;
  self->request(connector, std::chrono::seconds(5), caf::connect_atom::value,
                std::string("127.0.0.1"), port)
      .receive([&](const caf::node_id&, caf::strong_actor_ptr& ptr,
                   const std::set<std::string>&) { reached = ptr != nullptr; },
               [&](caf::error&) { reached = false; });
  return reached;
}

}  // namespace

TEST(remote_actor, with_certificates_every_actor_port_takes_only_the_clusters_processes) {
  test_pki pki;
  for (const char* service : {"auth", "media", "processing", "graph", "feed", "search"}) {
    SCOPED_TRACE(service);
    std::vector<std::string> args{"--actor-port", "0", "--access-log", "false"};
    for (auto& a : pki.process_args()) args.push_back(a);
    // The services it needs are nowhere: it starts all the same, and publishes its own actors.
    for (std::string dep : {"auth", "media", "graph"})
      if (dep != service) args.insert(args.end(), {"--" + dep + "-actor", "127.0.0.1:1"});
    pixhive_server server(args, service);
    ASSERT_NE(server.actor_port(), 0);
    EXPECT_TRUE(reaches(server.actor_port(), {pki.cert(), pki.key(), pki.ca()}))
        << "a process with the cluster's certificate";
    EXPECT_FALSE(reaches(server.actor_port(), {})) << "a process without TLS";
    EXPECT_FALSE(reaches(server.actor_port(), {pki.stranger_cert(), pki.stranger_key(), pki.ca()}))
        << "a process whose certificate the cluster's CA did not sign";
  }
}
