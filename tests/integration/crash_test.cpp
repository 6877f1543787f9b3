// kill -9 right after the last acknowledged upload of real camera photos: after a restart every
// acknowledged photo reads back byte-identical, and the photos whose processing the kill
// interrupted (the in-process bus lost its queue) are processed after the restart.
#include <signal.h>

#include <iostream>

#include <gtest/gtest.h>

#include "images.hpp"
#include "pixhive/core/crypto.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using verb = bhttp::verb;

TEST(crash, acknowledged_uploads_survive_kill_9) {
  crypto::init();
  auto photos = real_photos();
  if (photos.empty())
    PIXHIVE_SKIP_MISSING(
        std::string("skipping: no real photos (scripts/fetch-photos puts them in .cache/photos)"));

  temp_dir data;
  std::vector<std::pair<std::string, std::string>> acknowledged;  // id, sha256
  bool interrupted = false;
  std::string token;  // the owner's: others see no photo before processing has given its verdict
  {
    pixhive_server server({"--access-log", "false"}, "all", {}, data.path());
    token = create_and_login(server, "crashy");
    http_connection conn{server.port()};
    for (int round = 0; round < 2; ++round)
      for (const auto& bytes : photos) {
        auto r = upload(conn, token, bytes, "?caption=round" + std::to_string(round), "image/jpeg");
        ASSERT_EQ(r.status, 201) << r.body;
        acknowledged.emplace_back(r.json()["id"].get<std::string>(), crypto::sha256_hex(bytes));
      }
    auto last = call(server.port(), verb::get, "/api/v1/photos/" + acknowledged.back().first,
                     nullptr, token);
    interrupted = last.json()["status"] == "processing";
    server.process().signal(SIGKILL);
    EXPECT_EQ(server.process().wait_exit(), 128 + SIGKILL);
  }
  pixhive_server restarted({"--access-log", "false"}, "all", {}, data.path());
  for (const auto& [id, sha] : acknowledged) {
    auto r =
        call(restarted.port(), verb::get, "/api/v1/photos/" + id + "/original", nullptr, token);
    ASSERT_EQ(r.status, 200) << id;
    EXPECT_EQ(crypto::sha256_hex(r.body), sha) << id;
  }
  EXPECT_EQ(acknowledged.size(), photos.size() * 2);
  if (!interrupted) std::cout << "[ NOTE ] processing had finished before the kill\n";
  for (const auto& [id, sha] : acknowledged)
    EXPECT_EQ(settled_photo(restarted.port(), id, token)["status"], "ready") << id;
}
